/**
 * What each file access level means on each cloud, written once. Renderers,
 * the access matrix, the diff, the kits and the partner client's self-check
 * all read this table. Adding a grant kind means a row here (and the steps
 * listed in the README, "Adding a grant kind").
 *
 * Writes are CREATE-ONLY on both clouds: nobody overwrites or deletes a file
 * under partners/. On GCS an overwrite needs storage.objects.delete (objects
 * insert reference: "If the object being inserted has the same name as an
 * existing object, the user must also have the storage.objects.delete
 * permission"), and that permission also deletes noncurrent generations
 * permanently (objects delete: "Deletions are permanent if ... the generation
 * parameter is used"); no IAM condition tells the two apart. So GCS grants
 * objectCreator only, and S3 refuses a PutObject that may overwrite: the
 * bucket policy denies object-creating writes without `If-None-Match: *`
 * (S3 User Guide, "Enforce conditional writes": s3:if-none-match with
 * s3:ObjectCreationOperation, which exempts CreateMultipartUpload and
 * UploadPart). Both clouds answer 412 Precondition Failed to a second upload
 * of the same name.
 */
import { FileAccess } from "./schema";

export type FileCapability = "read" | "write";

export interface CapabilityOnClouds {
    /** S3 object actions on `<bucket>/partners/<slug>/*`; `list`: s3:ListBucket limited to the prefix. */
    s3: { objectActions: string[]; list: boolean };
    /** Predefined Cloud Storage roles on the partner's managed folder. */
    gcs: { roles: string[] };
}

export const FILE_CAPABILITIES: Record<FileCapability, CapabilityOnClouds> = {
    read: {
        s3: { objectActions: ["s3:GetObject"], list: true },
        gcs: { roles: ["roles/storage.objectViewer"] },
    },
    write: {
        s3: { objectActions: ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"], list: false },
        gcs: { roles: ["roles/storage.objectCreator"] },
    },
};

/** Registry access levels as sets of capabilities. */
export const ACCESS_LEVELS: Record<FileAccess, FileCapability[]> = {
    none: [],
    read: ["read"],
    write: ["write"],
    "read-write": ["read", "write"],
};

export interface S3Grant {
    objectActions: string[];
    /** s3:ListBucket, conditioned on `s3:prefix` under the partner's prefix. */
    list: boolean;
}

export function s3Grant(access: FileAccess): S3Grant {
    const caps = ACCESS_LEVELS[access].map((c) => FILE_CAPABILITIES[c].s3);
    return { objectActions: caps.flatMap((c) => c.objectActions), list: caps.some((c) => c.list) };
}

export function gcsRoles(access: FileAccess): string[] {
    return ACCESS_LEVELS[access].flatMap((c) => FILE_CAPABILITIES[c].gcs.roles);
}

/** S3 actions the matrix asks about for every prefix (what a partner could want, granted or not). */
export const S3_PROBED_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:ListBucket"];

/**
 * Object permissions of the predefined Cloud Storage roles (Cloud Storage IAM
 * roles reference, cloud.google.com/storage/docs/access-control/iam-roles),
 * for the permissions the matrix asks about. A role not listed here is
 * reported as unknown, never assumed harmless.
 */
export const GCS_ROLE_PERMISSIONS: Record<string, string[]> = {
    "roles/storage.objectViewer": ["storage.objects.get", "storage.objects.list"],
    "roles/storage.objectCreator": ["storage.objects.create"],
    "roles/storage.objectUser": ["storage.objects.get", "storage.objects.list", "storage.objects.create", "storage.objects.delete", "storage.objects.update"],
    "roles/storage.objectAdmin": ["storage.objects.get", "storage.objects.list", "storage.objects.create", "storage.objects.delete", "storage.objects.update", "storage.objects.setIamPolicy"],
    "roles/storage.admin": ["storage.objects.get", "storage.objects.list", "storage.objects.create", "storage.objects.delete", "storage.objects.update", "storage.objects.setIamPolicy"],
    "roles/storage.legacyObjectReader": ["storage.objects.get"],
    "roles/storage.legacyBucketReader": ["storage.objects.list"],
    "roles/storage.legacyBucketWriter": ["storage.objects.list", "storage.objects.create", "storage.objects.delete"],
    "roles/storage.legacyBucketOwner": ["storage.objects.list", "storage.objects.create", "storage.objects.delete"],
};

export const GCS_PROBED_PERMISSIONS = ["storage.objects.get", "storage.objects.list", "storage.objects.create", "storage.objects.delete"];

/** The GCS permissions an access level plans, derived from its roles. */
export function gcsPermissions(roles: string[]): string[] {
    return [...new Set(roles.flatMap((r) => GCS_ROLE_PERMISSIONS[r] ?? []))];
}
