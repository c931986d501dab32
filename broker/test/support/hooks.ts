/** Root hooks: after the whole run, no token value may appear in any log line or process output. */
import { leakedSecrets } from "./fixtures";

export const mochaHooks = {
    afterAll(): void {
        const leaked = leakedSecrets();
        if (leaked.length) throw new Error(`token values reached the logs: ${leaked.length}`);
    },
};
