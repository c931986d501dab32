/** A throwaway CA and a server certificate signed by it, made at test time (trusted only through injected `ca` options). */
import * as selfsigned from "selfsigned";

export interface TestPki {
    ca: string;
    key: string;
    cert: string;
}

let cached: Promise<TestPki> | undefined;

export function testPki(hosts: string[] = ["api.partner.test", "bearer.partner.test", "query.partner.test", "slow.partner.test", "evil.partner.test", "localhost"]): Promise<TestPki> {
    cached ??= (async () => {
        const days = (n: number) => new Date(Date.now() + n * 86_400_000);
        const ca = await selfsigned.generate([{ name: "commonName", value: "partner-access broker test CA" }], {
            keyType: "ec",
            algorithm: "sha256",
            notBeforeDate: days(-1),
            notAfterDate: days(2),
            extensions: [
                { name: "basicConstraints", cA: true, critical: true },
                { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
            ],
        });
        const leaf = await selfsigned.generate([{ name: "commonName", value: hosts[0] }], {
            keyType: "ec",
            algorithm: "sha256",
            notBeforeDate: days(-1),
            notAfterDate: days(2),
            ca: { key: ca.private, cert: ca.cert },
            extensions: [
                { name: "basicConstraints", cA: false },
                { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
                { name: "extKeyUsage", serverAuth: true },
                { name: "subjectAltName", altNames: hosts.map((value) => ({ type: 2, value })) },
            ],
        });
        return { ca: ca.cert, key: leaf.private, cert: leaf.cert };
    })();
    return cached;
}
