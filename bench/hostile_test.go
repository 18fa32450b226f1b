package bench_test

import (
	"context"
	"testing"
	"time"

	"muxlab/bench"
	"muxlab/internal/hostile"
	"muxlab/results"
)

// hostilePage is a page whose every other object misbehaves: the hostile
// server answers the /ok ones and does to each of the rest what its path
// says, in the middle of the page.
var hostilePage = []string{
	hostile.PathOK, hostile.PathEndlessHead, hostile.PathOK, hostile.PathLongLine, hostile.PathOK,
	hostile.PathEndlessBody, hostile.PathOK, hostile.PathDrip, hostile.PathOK, hostile.PathShort,
	hostile.PathOK, hostile.PathLong, hostile.PathOK, hostile.PathGoAway, hostile.PathOK, hostile.PathBadSettings,
}

func hostileScenario() results.Scenario {
	return results.Scenario{Name: "hostile", Mode: results.Page, Paths: hostilePage, Objects: len(hostilePage),
		Pages: 2, Rounds: 1, Conns: 6, Cold: true}
}

// TestHostilePeersMidPage: every contender's page, half of whose objects
// misbehave (an endless head, an endless body, a drip, a wrong length, a
// GOAWAY, bad SETTINGS), is accounted for request by request, its
// failures named by kind, and the process holds a bounded heap.
func TestHostilePeersMidPage(t *testing.T) {
	s := hostile.Serve(t, "")
	opts := bench.Options{Scenario: hostileScenario(), Contenders: []string{"h1", "h2", "hey", "sidecar-h2"},
		Targets: targets(t, s.URL(), s.URL()), Timeout: time.Second, NoTruth: true}
	var r *results.Run
	peak := hostile.PeakHeap(func() { r = run(t, context.Background(), opts) })
	if peak > 200<<20 {
		t.Errorf("the heap reached %d MiB", peak>>20)
	}
	accounted(t, r)
	for _, c := range r.Contenders {
		tot := c.Total
		if tot.OK == 0 || tot.Failed == 0 || tot.Sent != int64(2*len(hostilePage)) && c.Name != "hey" {
			t.Errorf("%s: %d sent, %d ok, %d failed (%v); want every object sent, the /ok ones answered", c.Name, tot.Sent, tot.OK, tot.Failed, tot.Errors)
		}
	}
	if n := r.Contender("h1").Total.Errors["response too large"]; n != 4 {
		t.Errorf("h1: %d responses too large; want the 2 endless heads and 2 endless lines of 2 pages (%v)", n, r.Contender("h1").Total.Errors)
	}
	// HTTP/2 sends the page at once: whichever of the endless head, the
	// GOAWAY and the bad SETTINGS the server gets to first ends the
	// connection, and the streams beside it fail with it.
	if h2 := r.Contender("h2").Total; h2.Errors["connection closed"] == 0 {
		t.Errorf("h2: failures %v; want the streams of a connection that ended closed with it", h2.Errors)
	}
}

// TestHostileHTTP3MidPage is the same page over HTTP/3 (quic-go's own
// server misbehaving through its handlers).
func TestHostileHTTP3MidPage(t *testing.T) {
	s, trust := hostile.ServeH3(t, "")
	tg, err := bench.NewTarget("h3", s.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tg.TLS = trust
	sc := hostileScenario()
	sc.Paths = sc.Paths[:len(sc.Paths)-3] // quic-go's server has no GOAWAY mid-page nor bad SETTINGS to give
	sc.Objects = len(sc.Paths)
	// Three seconds a request: the server's 2 MiB heads take a while to
	// encode under the race detector, and must not be taken for timeouts.
	opts := bench.Options{Scenario: sc, Contenders: []string{"h3"}, Targets: []bench.Target{tg}, Timeout: 3 * time.Second, NoTruth: true}
	var r *results.Run
	peak := hostile.PeakHeap(func() { r = run(t, context.Background(), opts) })
	if peak > 200<<20 {
		t.Errorf("the heap reached %d MiB", peak>>20)
	}
	accounted(t, r)
	tot := r.Contender("h3").Total
	if tot.OK == 0 || tot.Errors["response too large"] != 4 || tot.Sent != int64(2*sc.Objects) {
		t.Errorf("h3: %d sent, %d ok, failures %v; want 4 responses too large among them", tot.Sent, tot.OK, tot.Errors)
	}
}
