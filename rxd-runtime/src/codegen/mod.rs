//! TypeScript generation: channel descriptors to `.interfaces.ts` and `.channels.ts`.
