/**
 * The registry's past, from the git repository that holds it: every committed
 * version of the file (following renames), parsed tolerantly. Old versions may
 * not match today's schema (version 1 had no `environments`, fields came and
 * went), so nothing here validates: readers ask narrow questions ("does this
 * partner's entry list this identity?", "what did its aws.files say?") of
 * plain YAML and treat what they cannot read as unknown, never as "no".
 *
 * Used by `access-review` for "granted since" and "last changed by". Order is
 * git's (newest first, reversed here): on a main branch of merged pull
 * requests that is the order changes landed in.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";

export interface Commit {
    sha: string;
    author: string;
    email: string;
    /** Committer date (ISO): when the change landed on the branch. */
    date: string;
    subject: string;
}

export interface RegistryVersion {
    commit: Commit;
    /** The file's path in that commit (renames are followed). */
    path: string;
    /** The parsed YAML, whatever its shape; undefined when it did not parse. */
    doc?: unknown;
    error?: string;
}

export interface RegistryHistory {
    /** The registry file asked about (absolute). */
    file: string;
    /** Top of the git work tree holding it. */
    repo?: string;
    /** Committed versions, oldest first. */
    versions: RegistryVersion[];
    /** The clone is shallow: the oldest version shown is not necessarily the first. */
    shallow: boolean;
    /** The file as it is on disk now (what a synth reads), and whether it differs from the last commit. */
    working?: { doc?: unknown; error?: string; differsFromHead: boolean };
    /** Why there is no history (not a git repository, git missing, file never committed). */
    unavailable?: string;
}

function git(cwd: string, args: string[], input?: string): { ok: boolean; out: string; err: string } {
    const r = spawnSync("git", args, {
        cwd, input, encoding: "utf8", maxBuffer: 512 * 1024 * 1024,
        // Never prompt, never page, never read a repository-local pager or editor.
        env: { ...process.env, GIT_TERMINAL_PROMPT: "0", GIT_PAGER: "cat", LC_ALL: "C" },
    });
    if (r.error) return { ok: false, out: "", err: r.error.message };
    return { ok: r.status === 0, out: r.stdout, err: r.stderr.trim() };
}

function parse(text: string): { doc?: unknown; error?: string } {
    try {
        return { doc: YAML.parse(text, { uniqueKeys: false, maxAliasCount: 1000 }) };
    } catch (e) {
        return { error: (e as Error).message.split("\n")[0] };
    }
}

/** Reads blobs `sha:path` in one `git cat-file --batch` (one process for the whole history). */
function readBlobs(repo: string, specs: string[]): (string | undefined)[] {
    if (specs.length === 0) return [];
    const r = spawnSync("git", ["cat-file", "--batch"], { cwd: repo, input: specs.join("\n") + "\n", maxBuffer: 1024 * 1024 * 1024, env: { ...process.env, LC_ALL: "C" } });
    if (r.error || r.status !== 0) return specs.map(() => undefined);
    const buf = r.stdout as Buffer;
    const out: (string | undefined)[] = [];
    let pos = 0;
    for (let i = 0; i < specs.length; i++) {
        const eol = buf.indexOf(0x0a, pos);
        if (eol < 0) break;
        const header = buf.subarray(pos, eol).toString("utf8");
        pos = eol + 1;
        const m = /^[0-9a-f]+ blob (\d+)$/.exec(header);
        if (!m) {
            out.push(undefined); // "<spec> missing" or not a blob
            continue;
        }
        const size = Number(m[1]);
        out.push(buf.subarray(pos, pos + size).toString("utf8"));
        pos += size + 1;
    }
    while (out.length < specs.length) out.push(undefined);
    return out;
}

const SEP = "\u001f";
const REC = "\u001e";

/** The committed history of `file` (any path inside a git work tree). */
export function registryHistory(file: string): RegistryHistory {
    const abs = path.resolve(file);
    const dir = path.dirname(abs);
    const working = (() => {
        if (!fs.existsSync(abs)) return undefined;
        return parse(fs.readFileSync(abs, "utf8"));
    })();
    const none = (why: string): RegistryHistory => ({ file: abs, versions: [], shallow: false, working: working && { ...working, differsFromHead: true }, unavailable: why });
    if (!fs.existsSync(dir)) return none(`${dir} does not exist`);
    const top = git(dir, ["rev-parse", "--show-toplevel"]);
    if (!top.ok) return none(`${path.basename(abs)} is not in a git repository (${top.err || "git failed"})`);
    const repo = top.out.trim();
    const rel = path.relative(fs.realpathSync(repo), fs.realpathSync(abs)).split(path.sep).join("/");
    const log = git(repo, ["log", "--follow", "--name-only", `--format=${REC}%H${SEP}%an${SEP}%ae${SEP}%cI${SEP}%s`, "--", rel]);
    if (!log.ok) return { ...none(`git log failed: ${log.err}`), repo };
    const entries = log.out.split(REC).slice(1).map((chunk) => {
        const [header, ...rest] = chunk.split("\n");
        const [sha, author, email, date, subject] = header.split(SEP);
        const paths = rest.map((l) => l.trim()).filter(Boolean);
        return { commit: { sha, author, email, date, subject }, path: paths[paths.length - 1] ?? rel };
    }).reverse();
    if (entries.length === 0) return { ...none(`${rel} has never been committed`), repo };
    const blobs = readBlobs(repo, entries.map((e) => `${e.commit.sha}:${e.path}`));
    const versions: RegistryVersion[] = entries.map((e, i) => {
        const text = blobs[i];
        // A commit that deleted the file (or a path git cannot show) is a version with no readable content.
        return text === undefined ? { ...e, error: "not readable in this commit" } : { ...e, ...parse(text) };
    });
    const shallow = git(repo, ["rev-parse", "--is-shallow-repository"]).out.trim() === "true";
    const headText = readBlobs(repo, [`HEAD:${rel}`])[0];
    const onDisk = fs.existsSync(abs) ? fs.readFileSync(abs, "utf8") : undefined;
    return { file: abs, repo, versions, shallow, working: working && { ...working, differsFromHead: headText !== onDisk } };
}

/** A partner entry (by slug) of any version's document, tolerant of shape; undefined when absent or unreadable. */
export function partnerEntry(doc: unknown, slug: string): Record<string, unknown> | undefined {
    const partners = (doc as { partners?: unknown })?.partners;
    if (!Array.isArray(partners)) return undefined;
    const hit = partners.find((p) => p && typeof p === "object" && ((p as any).slug === slug || (p as any).id === slug));
    return hit as Record<string, unknown> | undefined;
}

/** Whether a version can be asked about partners at all (a registry-like document). */
export const readable = (doc: unknown): boolean => !!doc && typeof doc === "object" && Array.isArray((doc as { partners?: unknown }).partners);

/** JSON with sorted keys: two entries that say the same thing compare equal whatever their key order or comments. */
export function canonical(v: unknown): string {
    if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
    if (v && typeof v === "object") {
        return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(",")}}`;
    }
    return JSON.stringify(v ?? null);
}

export interface HeldSince {
    /** The first commit of the current uninterrupted run of versions that hold it (undefined: before history). */
    since?: Commit;
    /** Held in the oldest version shown: it predates the history. */
    beforeHistory: boolean;
    /** The first commit that ever held it (when held, dropped and granted again). */
    first?: Commit;
    /** Not held by any committed version: only the working copy has it. */
    uncommitted: boolean;
    /** No readable committed version to judge by. */
    unknown: boolean;
}

/**
 * When a predicate over registry versions (true: the grant is held) became
 * true for good. Versions the predicate cannot judge (undefined: unreadable,
 * or a shape it does not know) carry the previous state forward.
 */
export function heldSince(history: RegistryHistory, holds: (doc: unknown) => boolean | undefined): HeldSince {
    let state: boolean | undefined;
    let since: Commit | undefined;
    let first: Commit | undefined;
    let beforeHistory = false;
    let judged = 0;
    for (const v of history.versions) {
        const h = v.doc === undefined || !readable(v.doc) ? undefined : holds(v.doc);
        if (h === undefined) continue;
        judged++;
        if (h && state !== true) {
            // Held in the oldest version we can read: it may well be older than the repository (or the shallow clone).
            beforeHistory = judged === 1;
            since = beforeHistory ? undefined : v.commit;
            first ??= v.commit;
        }
        state = h;
    }
    const committed = state === true;
    return { since: committed ? since : undefined, beforeHistory: committed && beforeHistory, first: committed ? first : undefined, uncommitted: judged > 0 && !committed, unknown: judged === 0 };
}

export interface LastChange {
    commit?: Commit;
    /** The entry is unchanged since the oldest version shown: the change may be older. */
    atOrBefore: boolean;
    /** The working copy's entry differs from the last commit's. */
    uncommitted: boolean;
}

/** The last commit that changed a partner's entry (added it, or changed anything in it). */
export function lastChange(history: RegistryHistory, slug: string): LastChange {
    let previous: string | undefined;
    let commit: Commit | undefined;
    let atOrBefore = false;
    let seen = false;
    for (const v of history.versions) {
        if (!readable(v.doc)) continue;
        const entry = partnerEntry(v.doc, slug);
        const now = entry === undefined ? undefined : canonical(entry);
        if (!seen) {
            seen = true;
            if (now !== undefined) {
                commit = v.commit;
                atOrBefore = true;
            }
        } else if (now !== previous) {
            commit = v.commit;
            atOrBefore = false;
        }
        previous = now;
    }
    const workingEntry = history.working?.doc !== undefined ? partnerEntry(history.working.doc, slug) : undefined;
    const uncommitted = history.working?.doc !== undefined && (workingEntry === undefined ? previous !== undefined : canonical(workingEntry) !== previous);
    return { commit, atOrBefore, uncommitted: !!history.versions.length && uncommitted };
}
