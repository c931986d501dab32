/**
 * The Pulumi Node.js runtime records `new Error().stack` on every promise it
 * tracks, for its leak report (@pulumi/pulumi 3.270 runtime/debuggable.js,
 * `debuggablePromise`: four per output property of every resource, in
 * runtime/rpc.js `transferProperties`), and keeps the string as long as the
 * promise lives. At 1,000 partners that was half of the program's time and a
 * quarter of its memory, under `pulumi up` as in synth (`npm run bench`).
 * With a stack trace limit of 0 each record is free. The engine still gets
 * every resource's source position: `Resource.callsites` lifts the limit for
 * its own capture. What is lost is the frames of an unexpected crash: set
 * PARTNER_ACCESS_STACK_TRACES=1 to have them back.
 */
export function withoutPromiseStackTraces(env: NodeJS.ProcessEnv = process.env): void {
    if (!env.PARTNER_ACCESS_STACK_TRACES) Error.stackTraceLimit = 0;
}
