/** A worker thread of decideAll: evaluates its share of requests (documents by number) and reports back. */
import { parentPort, workerData } from "worker_threads";
import { Decision, decide, expand } from "./iam-eval";

(async () => {
    const { keys, documents } = workerData as { keys: string[]; documents: unknown[] };
    const decisions: Decision[] = [];
    for (let i = 0; i < keys.length; i++) {
        decisions.push(await decide(expand(JSON.parse(keys[i]), documents)));
        if (i % 500 === 499) parentPort!.postMessage({ progress: 500 });
    }
    parentPort!.postMessage({ decisions });
})();
