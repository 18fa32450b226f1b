// Package results holds muxlab's result model: the versioned JSON document
// of one run (its scenario, network, contenders, rounds and histograms),
// written atomically and read back with its invariants checked; the
// comparison and verdict; sweeps; and the merge of several agents' runs.
// It renders nothing: the table, HTML report and charts are package report.
package results
