/** The version of pathspider, printed by `pathspider --version`. */
export const VERSION = "0.1.0";

/** The version of the original PATHspider whose behaviour this tool reproduces. */
export const COMPAT_VERSION = "2.0.1";
