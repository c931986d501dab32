/**
 * Input problems are collected, never thrown one by one: a reviewer fixing a
 * registry wants every mistake in one run, each naming file, line, partner and
 * field.
 */
export interface Problem {
    file: string;
    /** 1-based position of the offending node, when the input is a YAML file we read. */
    line?: number;
    column?: number;
    /** Partner slug (or `#<index>` when the slug itself is unusable); absent for file-level problems. */
    partner?: string;
    /** Dotted path of the offending field, e.g. `identities.prod.aws[0]`. */
    field?: string;
    message: string;
}

export function formatProblem(p: Problem): string {
    const at = p.line ? `${p.file}:${p.line}:${p.column ?? 1}` : p.file;
    return [at, p.partner ? `partner "${p.partner}"` : undefined, p.field ? `field "${p.field}"` : undefined, p.message]
        .filter(Boolean)
        .join(": ");
}

/** GitHub Actions workflow command: the problem shows on the file and line of the pull request. */
export function githubAnnotation(p: Problem): string {
    const esc = (s: string, property: boolean) => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A")
        .replace(property ? /[:,]/g : /$^/, (c) => (c === ":" ? "%3A" : "%2C"));
    const props = [`file=${esc(p.file, true)}`, ...(p.line ? [`line=${p.line}`, `col=${p.column ?? 1}`] : []), "title=partner-access"];
    const text = [p.partner ? `partner "${p.partner}"` : undefined, p.field ? `field "${p.field}"` : undefined, p.message].filter(Boolean).join(": ");
    return `::error ${props.join(",")}::${esc(text, false)}`;
}

/** Thrown once, carrying every problem found, before any resource is registered. */
export class InputError extends Error {
    constructor(readonly problems: Problem[]) {
        super(`${problems.length} problem(s) in partner-access input:\n` + problems.map((p) => "  - " + formatProblem(p)).join("\n"));
        this.name = "InputError";
    }
}

/** A collector bound to one file. `at` finds a field's line and column, when known. */
export class Problems {
    readonly list: Problem[] = [];
    constructor(readonly file: string, private readonly at: (path: (string | number)[]) => { line: number; column: number } | undefined = () => undefined) {}

    /**
     * @param path   where in the document: keys and indexes from the root
     * @param field  how the message names it (default: the path in dotted form)
     */
    add(message: string, path: (string | number)[] = [], partner?: string, field?: string): void {
        this.list.push({ file: this.file, ...this.at(path), partner, field: field ?? (dotted(path) || undefined), message });
    }

    throwIfAny(): void {
        if (this.list.length > 0) throw new InputError(this.list);
    }
}

/** `["identities", "prod", "aws", 0]` -> `identities.prod.aws[0]` */
export function dotted(path: (string | number)[]): string {
    return path.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? k : `.${k}`)).join("");
}
