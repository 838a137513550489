// Deno starting inside the repository, doing nothing: the baseline beside which
// bench/probe_bench.ts shows what finding deno.json, package.json and node_modules costs.
