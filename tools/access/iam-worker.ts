/** A worker thread of decideAll: evaluates its share of requests and reports back. */
import { parentPort, workerData } from "worker_threads";
import { Decision, decide } from "./iam-eval";

(async () => {
    const keys = workerData as string[];
    const decisions: Decision[] = [];
    for (let i = 0; i < keys.length; i++) {
        decisions.push(await decide(JSON.parse(keys[i])));
        if (i % 500 === 499) parentPort!.postMessage({ progress: 500 });
    }
    parentPort!.postMessage({ decisions });
})();
