/**
 * The real components of a measurement: live capture + observer, and the connection helpers.
 */
import { UserError } from "../cli/fail.ts";
import type { MeasureDeps } from "./run.ts";

/** The live dependencies of `runMeasure`. */
export function liveDeps(): MeasureDeps {
  throw new UserError("measure: the observer and connection helpers are not built yet");
}
