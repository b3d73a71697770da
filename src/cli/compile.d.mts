/** dist/cli/index.js, the compiled CLI's entry. */
export const CLI_ENTRY: string;
/** dist/cli/build.json: `{ startedAt, inputs, outputs: { [file]: inputs } }`, paths from the root. */
export const BUILD_RECORD: string;
/** Compiles the CLI into dist/cli. */
export function buildCli(): Promise<void>;
/** Whether dist/cli was built after the last change to any file it was built from. */
export function isCliFresh(): boolean;
/** Renamed into place, so that a process starting meanwhile (another launcher's worker) reads a whole file. */
export function writeWhole(file: string, contents: string | Uint8Array): Promise<void>;
