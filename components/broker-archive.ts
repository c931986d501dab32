import * as pulumi from "@pulumi/pulumi";

/**
 * A broker bundle's files as the archive Pulumi zips and uploads: StringAssets
 * only, in name order, so the same bundle is always the same archive.
 */
export function bundleArchive(files: Record<string, string>): pulumi.asset.AssetArchive {
    return new pulumi.asset.AssetArchive(Object.fromEntries(Object.keys(files).sort().map((n) => [n, new pulumi.asset.StringAsset(files[n])])));
}
