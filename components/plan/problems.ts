/**
 * Input problems are collected, never thrown one by one: a reviewer fixing a
 * registry wants every mistake in one run, each naming file, partner and field.
 */
export interface Problem {
    file: string;
    /** Partner slug (or `#<index>` when the slug itself is unusable); absent for file-level problems. */
    partner?: string;
    /** Dotted path of the offending field, e.g. `identities.prod.aws[0]`. */
    field?: string;
    message: string;
}

export function formatProblem(p: Problem): string {
    const where = [p.file, p.partner ? `partner "${p.partner}"` : undefined, p.field ? `field "${p.field}"` : undefined]
        .filter(Boolean)
        .join(": ");
    return `${where}: ${p.message}`;
}

/** Thrown once, carrying every problem found, before any resource is registered. */
export class InputError extends Error {
    constructor(readonly problems: Problem[]) {
        super(`${problems.length} problem(s) in partner-access input:\n` + problems.map((p) => "  - " + formatProblem(p)).join("\n"));
        this.name = "InputError";
    }
}

/** A collector bound to one file (and optionally one partner). */
export class Problems {
    readonly list: Problem[] = [];
    constructor(readonly file: string) {}

    add(message: string, field?: string, partner?: string): void {
        this.list.push({ file: this.file, partner, field, message });
    }

    forPartner(partner: string): PartnerProblems {
        return new PartnerProblems(this, partner);
    }

    throwIfAny(): void {
        if (this.list.length > 0) throw new InputError(this.list);
    }
}

export class PartnerProblems {
    constructor(private readonly parent: Problems, readonly partner: string) {}
    add(message: string, field?: string): void {
        this.parent.add(message, field, this.partner);
    }
}
