// Loaded into an api process under test (node --expose-gc --import): SIGUSR2 runs a full GC, so a
// test reads the RSS of live memory rather than of garbage the collector has not reached yet.
process.on('SIGUSR2', () => globalThis.gc?.());
