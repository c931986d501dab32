/** What the review tools report. */
export type Effect = "allowed" | "denied";

export interface Cell {
    partner: string;
    /** The identity the partner calls as: a role in our account, its own ARN, or a GCP member. */
    via: string;
    cloud: "aws" | "gcp";
    /** `files partners/<slug>/`, `api METHOD /path`, `role <name>`, `outbound <host>`, ... */
    resource: string;
    action: string;
    effective: Effect;
    planned: Effect;
    /** A grant outside its window: planned denied because of the date, shown, never a defect. */
    window?: "expired" | "not-yet";
}

/** A rendered document that grants what the plan does not (found by reasoning on its structure). */
export interface Finding {
    cloud: "aws" | "gcp";
    /** The document or resource: `trust of <role>`, `bucket policy`, `folder partners/x/`, ... */
    where: string;
    partner?: string;
    message: string;
}

export type Progress = (message: string) => void;

/** A review tool refusing its input (stale output, nothing to compare): exit 1 with the reason, never a silent pass. */
export class Refusal extends Error {}
