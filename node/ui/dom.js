// The DOM helpers both UIs share live in shared/ui, served at /ui/common/.
export * from "./common/dom.js";
