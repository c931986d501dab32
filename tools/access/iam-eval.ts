/**
 * Evaluates rendered AWS policies with a real IAM policy evaluator
 * (@cloud-copilot/iam-simulate, AGPL-3.0, a development dependency only).
 * Large batches run on worker threads, one per core.
 */
import * as os from "os";
import * as path from "path";
import { Worker } from "worker_threads";
import { speedUpEvaluator } from "./evaluator-speedups";

export type Decision = "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied";

export interface Request {
    /** An IAM ARN, `accounts.google.com` for a web identity, or "anonymous". */
    principal: string;
    action: string;
    resource: string;
    resourceAccount: string;
    identityPolicies?: unknown[];
    resourcePolicy?: unknown;
    context?: Record<string, string | string[]>;
}

const accountOf = (arn: string) => /^arn:aws:(?:iam|sts)::(\d{12}):/.exec(arn)?.[1];

export async function decide(r: Request): Promise<Decision> {
    speedUpEvaluator();
    const { anonymousPrincipal, runSimulation } = await import("@cloud-copilot/iam-simulate");
    const anonymous = r.principal === "anonymous";
    const federated = !anonymous && !r.principal.startsWith("arn:");
    const context: Record<string, string | string[]> = { "aws:SecureTransport": "true", ...(r.context ?? {}) };
    if (!anonymous && !federated) {
        context["aws:PrincipalArn"] ??= r.principal;
        context["aws:PrincipalAccount"] ??= accountOf(r.principal)!;
    }
    // Keys with an empty value stand for "not sent" (e.g. no If-None-Match header).
    for (const [k, v] of Object.entries(context)) if (v === "") delete context[k];
    const result: any = await runSimulation({
        request: {
            principal: anonymous ? anonymousPrincipal : r.principal,
            action: r.action,
            resource: { resource: r.resource, accountId: r.resourceAccount },
            contextVariables: context,
        },
        identityPolicies: (r.identityPolicies ?? []).map((policy, i) => ({ name: `identity${i}`, policy })),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: r.resourcePolicy,
    } as any, {});
    if (result.resultType === "error") throw new Error(`simulation refused its input: ${JSON.stringify(result.errors)}`);
    if (federated) {
        // A web identity has no identity policy: AWS decides on the trust policy alone, which the
        // evaluator reports as its resource analysis (it would otherwise demand an identity grant).
        return result.result.analysis.resourceAnalysis.result as Decision;
    }
    return result.overallResult as Decision;
}

/** Below this many requests a worker pool costs more than it saves. */
const POOL_THRESHOLD = 400;

/**
 * Policy documents by content, each given a number once per process: a
 * request names its documents by number, so 45,000 requests at 1,000
 * partners do not carry 45,000 copies of the bucket policy (to the workers,
 * and in the keys below). Objects already seen are looked up by identity,
 * and frozen when first seen so that identity keeps standing for content: a
 * caller changing a document afterwards gets a TypeError, never a decision
 * about the document as it was.
 */
let documentIds = new Map<string, number>();
let documents: unknown[] = [];
let idOfObject = new WeakMap<object, number>();

function deepFreeze(v: unknown): void {
    if (typeof v !== "object" || v === null || Object.isFrozen(v)) return;
    Object.freeze(v);
    for (const child of Object.values(v)) deepFreeze(child);
}

function documentId(d: unknown): number {
    if (typeof d === "object" && d !== null) {
        const known = idOfObject.get(d);
        if (known !== undefined) return known;
    }
    const json = JSON.stringify(d);
    let id = documentIds.get(json);
    if (id === undefined) {
        id = documents.length;
        documents.push(JSON.parse(json));
        documentIds.set(json, id);
    }
    if (typeof d === "object" && d !== null) {
        deepFreeze(d);
        idOfObject.set(d, id);
    }
    return id;
}

/** A request with its documents replaced by their numbers: what the workers receive and the cache keys on. */
interface CompactRequest extends Omit<Request, "identityPolicies" | "resourcePolicy"> {
    identityPolicies: number[];
    resourcePolicy?: number;
}

function compact(r: Request): CompactRequest {
    return { ...r, identityPolicies: (r.identityPolicies ?? []).map(documentId), resourcePolicy: r.resourcePolicy === undefined ? undefined : documentId(r.resourcePolicy) };
}

export function expand(c: CompactRequest, docs: unknown[]): Request {
    return { ...c, identityPolicies: c.identityPolicies.map((i) => docs[i]), resourcePolicy: c.resourcePolicy === undefined ? undefined : docs[c.resourcePolicy] };
}

/**
 * Decisions already made in this process: a request is a pure function of
 * its principal, action, resource, context and documents, so the base and
 * the head of a diff, or a document changed in one place, re-evaluate only
 * what differs. Bounded: cleared, with the documents its keys number, when
 * it grows past this.
 */
const decided = new Map<string, Decision>();
const DECIDED_MAX = 200_000;

/** Decides many requests, identical ones once, on worker threads when there are many. */
let inFlight = 0;

export async function decideAll(requests: Request[], progress?: (m: string) => void): Promise<Decision[]> {
    // Cleared only between runs: a run in flight holds keys that number documents in the current table.
    if (decided.size > DECIDED_MAX && inFlight === 0) {
        decided.clear();
        [documentIds, documents, idOfObject] = [new Map(), [], new WeakMap()];
    }
    inFlight++;
    try {
        return await decideKeys(requests.map((r) => JSON.stringify(compact(r))), progress);
    } finally {
        inFlight--;
    }
}

async function decideKeys(keys: string[], progress?: (m: string) => void): Promise<Decision[]> {
    const unique = [...new Set(keys)].filter((k) => !decided.has(k));
    const workers = Math.max(1, Math.min(os.availableParallelism?.() ?? os.cpus().length, 4));
    if (unique.length < POOL_THRESHOLD || workers === 1) {
        for (const k of unique) decided.set(k, await decide(expand(JSON.parse(k), documents)));
    } else {
        const chunks: string[][] = Array.from({ length: workers }, () => []);
        unique.forEach((k, i) => chunks[i % workers].push(k));
        let done = 0;
        const started = Date.now();
        await Promise.all(chunks.map((chunk) => new Promise<void>((resolve, reject) => {
            const w = new Worker(`require("ts-node/register/transpile-only"); require(${JSON.stringify(path.join(__dirname, "iam-worker.ts"))});`, { eval: true, workerData: { keys: chunk, documents } });
            w.on("message", (m: { progress?: number; decisions?: Decision[] }) => {
                if (m.progress) {
                    done += m.progress;
                    if (progress && Date.now() - started > 2000) progress(`evaluated ${done}/${unique.length} AWS requests`);
                }
                if (m.decisions) {
                    chunk.forEach((k, i) => decided.set(k, m.decisions![i]));
                    resolve();
                }
            });
            w.on("error", reject);
        })));
    }
    return keys.map((k) => decided.get(k)!);
}
