/** Entry point of the `busbar` command. */
import { runCli } from "./index.js";

process.exitCode = await runCli(process.argv.slice(2));
