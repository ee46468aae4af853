// Secret ballots in the browser: one import for the pages. The modules under secret/
// mirror crypto/ one per primitive (docs/secret-ballots.md is the specification and
// tests/crypto/vectors/secret.json pins them byte for byte); commission.js keeps a
// counting-commission member's share (wrapped at rest, backup file, transport).
export * from "./secret/group.js";
export * from "./secret/challenge.js";
export * from "./secret/elgamal.js";
export * from "./secret/bitproof.js";
export * from "./secret/sumproof.js";
export * from "./secret/decryptionproof.js";
export * from "./secret/knowledgeproof.js";
export * from "./secret/dkg.js";
export * from "./secret/ballot.js";
export { commitments } from "./secret/disjunctive.js";
export * from "./secret/sharestore.js";
export * from "./secret/transport.js";
export * from "./secret/board.js";
