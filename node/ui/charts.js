// The charts both UIs share live in shared/ui, served at /ui/common/.
export * from "./common/charts.js";
