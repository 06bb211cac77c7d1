/**
 * A panic inside the native library comes back as a status (`Status.INTERNAL`) with a one-line
 * message, and the process goes on: the release library unwinds and every export catches it.
 */
import { assert, assertEquals } from "./assert.ts";
import { libraryMessage, openProjectLibrary } from "../../src/ffi/library.ts";
import { Status } from "../../src/ffi/status.ts";

const lib = openProjectLibrary(
  {
    ps_last_error: { parameters: ["buffer", "u32"], result: "i32" },
    ps_debug_panic: { parameters: ["i32"], result: "i32" },
  } as const,
);

/** The code on which `ps_debug_panic` panics on purpose ("panc"). */
const PANIC = 0x7061_6e63;

Deno.test("a panic in the library is an INTERNAL status with its message, not an abort", () => {
  assertEquals(lib.ps_debug_panic(7), 7);
  for (let i = 0; i < 3; i++) {
    assertEquals(lib.ps_debug_panic(PANIC), Status.INTERNAL);
    const msg = libraryMessage(lib);
    assert(msg.startsWith("internal error in ps_debug_panic"), msg);
    assert(msg.includes("deliberate panic for a test at src/error.rs:"), msg);
    assert(!msg.includes("\n"), "one line");
  }
  // still alive, and the library still answers
  assertEquals(lib.ps_debug_panic(8), 8);
});
