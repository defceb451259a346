// The HTTP helpers both UIs share live in shared/ui, served at /ui/common/.
import { setServiceName } from "./common/api.js";

export * from "./common/api.js";

setServiceName("the node");
