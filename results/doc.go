// Package results holds muxlab's result model: a versioned JSON document of
// one run, its comparison table and its HTML report.
package results
