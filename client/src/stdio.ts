/**
 * How a command line stops when it cannot write (shared by the partner client
 * and partner-access's own CLI). `... | head`: once the reader has gone,
 * writes fail with EPIPE (Node ignores SIGPIPE), which would surface as a
 * crash and a stack trace. Stop as a shell's SIGPIPE-killed process does,
 * with status 141: not "clean", as the output was not finished. Any other
 * failure to write (a full disk) is said on the other stream, and the process
 * exits with `failureCode`.
 */
export function stopQuietlyWhenReaderLeaves(failureCode: number): void {
    for (const [stream, other] of [[process.stdout, process.stderr], [process.stderr, process.stdout]] as const) {
        stream.on("error", (e: NodeJS.ErrnoException) => {
            if (e.code === "EPIPE") process.exit(141);
            try {
                other.write(`cannot write the output: ${e.message}\n`);
            } finally {
                process.exit(failureCode);
            }
        });
    }
}
