// Package report renders results: the terminal table (WriteTable), the
// self-contained HTML report with its charts and waterfalls (WriteReport,
// drawn with gonum/plot, no network fetch when opened), a sweep's chart, and
// the browser of a folder of result files (report --serve).
package report
