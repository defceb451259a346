// The hash router both UIs share lives in shared/ui, served at /ui/common/.
import { setHome } from "./common/router.js";

export * from "./common/router.js";

setHome("#/worklist");
