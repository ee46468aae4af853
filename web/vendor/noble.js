// The entry point of the one third-party module the pages load: scripts/vendor.mjs
// bundles it, with what it imports from @noble/curves and @noble/hashes (versions
// pinned in package-lock.json), into web/static/vendor/noble.js.
export { ed25519 } from "@noble/curves/ed25519.js";
