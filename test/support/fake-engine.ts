/**
 * The parts of the Pulumi engine a Node.js program or policy pack talks to,
 * on the loopback interface: the Engine service (logs: what `pulumi up` would
 * print) and a ResourceMonitor that supports no optional feature. Servers stop
 * when the test closes them.
 */
import * as grpc from "@grpc/grpc-js";
import { ROOT } from "./fixtures";

const proto = (f: string) => require(require.resolve(`@pulumi/pulumi/proto/${f}`, { paths: [ROOT] }));

export interface LogEntry {
    severity: number;
    message: string;
}

export interface FakeEngine {
    address: string;
    logs: LogEntry[];
    /** URNs of the resources the program registered. */
    registered: string[];
    close(): Promise<void>;
}

/** Starts an Engine and a ResourceMonitor on one loopback port. */
export async function startFakeEngine(): Promise<FakeEngine> {
    const engine = proto("engine_grpc_pb.js");
    const monitor = proto("resource_grpc_pb.js");
    const resourcePb = proto("resource_pb.js");
    const emptyPb = require(require.resolve("google-protobuf/google/protobuf/empty_pb.js", { paths: [ROOT] }));
    const enginePb = proto("engine_pb.js");
    const logs: LogEntry[] = [];
    const server = new grpc.Server();
    server.addService(engine.EngineService, {
        log: (call: any, cb: any) => {
            logs.push({ severity: call.request.getSeverity(), message: call.request.getMessage() });
            cb(null, new emptyPb.Empty());
        },
        getRootResource: (_call: any, cb: any) => cb(null, new enginePb.GetRootResourceResponse()),
        setRootResource: (_call: any, cb: any) => cb(null, new enginePb.SetRootResourceResponse()),
        startDebugging: (_call: any, cb: any) => cb(null, new emptyPb.Empty()),
        requirePulumiVersion: (_call: any, cb: any) => cb(null, new emptyPb.Empty()),
    });
    const unimplemented = (_call: any, cb: any) => cb({ code: grpc.status.UNIMPLEMENTED, details: "fake monitor" });
    const registered: string[] = [];
    const handlers: Record<string, unknown> = {
        supportsFeature: (_call: any, cb: any) => {
            const r = new resourcePb.SupportsFeatureResponse();
            r.setHassupport(false);
            cb(null, r);
        },
        // The runner registers the root Stack resource before it runs the program.
        registerResource: (call: any, cb: any) => {
            const urn = `urn:pulumi:fake::fake::${call.request.getType()}::${call.request.getName()}`;
            registered.push(urn);
            const r = new resourcePb.RegisterResourceResponse();
            r.setUrn(urn);
            cb(null, r);
        },
        registerResourceOutputs: (_call: any, cb: any) => cb(null, new emptyPb.Empty()),
    };
    server.addService(monitor.ResourceMonitorService, new Proxy(handlers, { get: (t, name) => (t as any)[name] ?? unimplemented }) as any);
    const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    return {
        address: `127.0.0.1:${port}`,
        logs,
        registered,
        close: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
    };
}
