import { sampleRegistryObject } from "./fixtures";

/** Every identity string (ARNs, emails, unique ids) the sample registry lists under the given environments. */
export function registryEnvironments(envs: string[]): string[] {
    return sampleRegistryObject().partners.flatMap((p: any) => envs.flatMap((e) => {
        const ids = p.identities[e];
        if (!ids) return [];
        return [...(ids.aws ?? []), ...(ids.gcp ?? []).flatMap((g: any) => [g.email, ...(g.uniqueId ? [g.uniqueId] : [])])];
    }));
}
