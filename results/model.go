package results

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// SchemaVersion is the version of the JSON model this package writes and the
// only one it reads. It changes whenever a field changes meaning.
const SchemaVersion = 3

// Run is one muxlab bench run: a scenario run against every contender, in
// rounds, with the figures of each round and the comparison between them.
type Run struct {
	SchemaVersion int       `json:"schema_version"`
	Tool          Tool      `json:"tool"`
	Machine       Machine   `json:"machine"`
	Started       time.Time `json:"started"`
	// Thresholds are the conditions the run was not to meet (--fail-on),
	// each with whether it was missed, checked after the run.
	Thresholds []Threshold `json:"thresholds,omitempty"`
	// ID tells apart runs started in the same second (eight hex digits,
	// random); it is in the file's name.
	ID       string    `json:"id,omitempty"`
	Finished time.Time `json:"finished"`
	// Interrupted says the run was stopped (Ctrl-C) before it finished: the
	// figures are what was measured until then.
	Interrupted bool   `json:"interrupted"`
	Label       string `json:"label,omitempty"`
	// Agent names the load agent that made the run (--agent), or "merged"
	// for a merge of several; Agents then keeps each one's totals.
	Agent    string     `json:"agent,omitempty"`
	Agents   []AgentRun `json:"agents,omitempty"`
	Scenario Scenario   `json:"scenario"`
	// Network is the network between client and server: an emulated
	// link's conditions, or loopback.
	Network Network `json:"network"`
	Target  Target  `json:"target"`
	// Baseline names the contender every other one is compared with: the
	// ratios of Comparison and the Verdict.
	Baseline   string      `json:"baseline"`
	Contenders []Contender `json:"contenders"`
	Comparison []Ratio     `json:"comparison,omitempty"`
	Verdict    string      `json:"verdict"`
	Notes      []string    `json:"notes,omitempty"`
	// Sweep, when set, makes this run a sweep: a run per value of one
	// parameter, and no contenders of its own.
	Sweep *Sweep `json:"sweep,omitempty"`
}

// Tool names what made the file.
type Tool struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	GoVersion string `json:"go_version"`
}

// Machine describes where the run ran.
type Machine struct {
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
}

// Target says which server was measured.
type Target struct {
	// URLs maps each server listener the contenders talked to ("h1",
	// "h2c") to its base URL.
	URLs map[string]string `json:"urls"`
	// Embedded is true when muxlab started the mux server in its own process
	// (its CPU time is then part of every round's CPU figure).
	Embedded bool `json:"embedded"`
	// CPUScope says what a round's CPU figure covers: "client" or "client +
	// embedded server".
	CPUScope string `json:"cpu_scope"`
	// GroundTruth says where the server's own counts came from: "in
	// process", "GET /stats", or "unavailable: REASON".
	GroundTruth string `json:"ground_truth"`
}

// Mode is how a scenario puts requests in flight.
type Mode string

// The modes.
const (
	// Closed keeps Concurrency requests in flight: a new one starts when one ends.
	Closed Mode = "closed"
	// Open starts requests at a fixed Rate whatever happens to earlier ones,
	// and measures latency from each request's intended start.
	Open Mode = "open"
	// Page requests the Objects of a page all at once, as a browser does,
	// one page after another.
	Page Mode = "page"
)

// Scenario is a workload, as run.
type Scenario struct {
	Name    string `json:"name"`
	Summary string `json:"summary"`
	Mode    Mode   `json:"mode"`
	// Endpoint is the mux path requested: "/tile/{n}", "/echo", "/hello",
	// "/stream".
	Endpoint string `json:"endpoint"`
	// Delay is the server-side delay of each request (its delay= parameter).
	Delay Duration `json:"delay"`
	// Size is the response size in bytes (size=); zero keeps the
	// endpoint's default.
	Size int64 `json:"size"`
	// Query is added to every request's query string, e.g.
	// "chunks=20&interval=10ms".
	Query string `json:"query,omitempty"`
	// SlowEvery makes every SlowEvery-th request a slow one, delayed by
	// SlowDelay instead of Delay (zero: none).
	SlowEvery int      `json:"slow_every,omitempty"`
	SlowDelay Duration `json:"slow_delay,omitempty"`
	// Objects is the number of objects on a page (Page mode).
	Objects int `json:"objects,omitempty"`
	// How much each contender runs in each round: Pages pages (Page mode),
	// or Requests requests, or for Duration when Duration is not zero.
	Pages    int      `json:"pages,omitempty"`
	Requests int      `json:"requests,omitempty"`
	Duration Duration `json:"duration,omitempty"`
	// Concurrency is the number of requests in flight (Closed), or the most
	// in flight at once (Open).
	Concurrency int `json:"concurrency,omitempty"`
	// Rate is the arrival rate in requests per second (Open).
	Rate float64 `json:"rate,omitempty"`
	// Warmup is how many requests (pages in Page mode) each contender sends
	// at the start of each round, unmeasured, so that connections are open.
	Warmup int `json:"warmup"`
	// Rounds is how many times the contenders take turns.
	Rounds int `json:"rounds"`
	// Conns is the number of connections of a connection pool (h1) and of
	// workers of a tool that has no pool (hey).
	Conns int `json:"conns"`
	// PipelineConns and PipelineDepth are h1-pipeline's connections (zero:
	// one) and the requests it writes ahead of their answers on each (zero:
	// h1pipe's default, 100).
	PipelineConns int `json:"pipeline_conns,omitempty"`
	PipelineDepth int `json:"pipeline_depth,omitempty"`
	// Cold opens new connections for every page (Page mode): each page
	// pays for its handshakes, six of them for HTTP/1.1, one for HTTP/2.
	Cold bool `json:"cold,omitempty"`
	// AppConns is the app's connections to its sidecar, for the sidecar
	// contenders (zero: Conns).
	AppConns int `json:"app_conns,omitempty"`
	// Backends, when set, runs the embedded server as that many demo
	// servers behind a balancing front (Balance: "l4", each connection to
	// the next backend, or "l7", each request; Sticky: by cookie, layer 7),
	// and the figures per backend are kept (Round.Backends).
	Backends int    `json:"backends,omitempty"`
	Balance  string `json:"balance,omitempty"`
	Sticky   bool   `json:"sticky,omitempty"`
	// AddBackend adds a backend halfway through each turn, and
	// StopBackend stops one (b1, as a crash: what it kept in memory is
	// gone); each turn starts with the first Backends again.
	AddBackend  bool `json:"add_backend,omitempty"`
	StopBackend bool `json:"stop_backend,omitempty"`
	// Carts makes each worker a user filling carts, CartItems adds then a
	// read, one cart after another: "stateful" (kept in a backend's memory,
	// /cart), "stateless" (carried in a signed token, /tcart) or "both"
	// (every other user). Round.Carts counts what became of them.
	Carts     string `json:"carts,omitempty"`
	CartItems int    `json:"cart_items,omitempty"`
	// Paths, when set, are the page's objects as given by a URL list
	// (--urls): paths with their queries, requested as they are (Endpoint,
	// Delay and Size then play no part); Objects is their number.
	Paths []string `json:"paths,omitempty"`
	// Hosts, when set, is each object's origin host (a recorded page of
	// several origins, --har): each origin gets connections of its own, as
	// a browser gives it, all to the one server measured.
	Hosts []string `json:"hosts,omitempty"`
	// ObjectTypes and ObjectSizes, when known (a recorded page), are each
	// object's MIME type and recorded size in bytes.
	ObjectTypes []string `json:"object_types,omitempty"`
	ObjectSizes []int64  `json:"object_sizes,omitempty"`
	// ObjectDelays, when known, is each object's time at the server: the
	// recorded wait (--har), or the delay a listed URL asks of the demo
	// server (--urls).
	ObjectDelays []Duration `json:"object_delays,omitempty"`
	// Source names where Paths came from (the list's file).
	Source string `json:"source,omitempty"`
}

// ObjectMeans is the server delay and the size of the page's average
// object, for the page model: the means of ObjectDelays and ObjectSizes
// where they give every object; else Delay and Size, which are zero for a
// page of listed or recorded objects whose figures are not known.
func (s *Scenario) ObjectMeans() (delay time.Duration, size int64) {
	delay, size = s.Delay.D(), s.Size
	if n := len(s.ObjectDelays); n > 0 && n == s.Objects {
		var sum time.Duration
		for _, d := range s.ObjectDelays {
			sum += d.D()
		}
		delay = sum / time.Duration(n)
	}
	if n := len(s.ObjectSizes); n > 0 && n == s.Objects {
		var sum int64
		for _, b := range s.ObjectSizes {
			sum += b
		}
		size = sum / int64(n)
	}
	return delay, size
}

// Contender is one client's figures.
type Contender struct {
	// Name is the contender's name in muxlab's table ("h1", "h2", "hey").
	Name string `json:"name"`
	// Label says what it is, e.g. "h2 (1 connection)".
	Label    string `json:"label"`
	Protocol string `json:"protocol"`
	// Listener names the server listener it talked to.
	Listener string `json:"listener"`
	// Conns is the number of connections it is meant to use.
	Conns int `json:"conns"`
	// Reference marks an outside tool run beside the contenders for
	// reference (hey): it is in the table, but it has no verdict and no
	// ratio column.
	Reference bool `json:"reference,omitempty"`
	// Counterpart names the contender this one is a real browser's version
	// of (chromium-h2's is h2): the verdict compares their page times.
	Counterpart string  `json:"counterpart,omitempty"`
	Rounds      []Round `json:"rounds"`
	// Total merges the rounds: counts added up, histograms merged.
	Total Round `json:"total"`
}

// Round is one contender's figures for one round (or, as Contender.Total,
// for all rounds).
type Round struct {
	Round       int  `json:"round"`
	Interrupted bool `json:"interrupted,omitempty"`
	// Position is the contender's place in the round's order (1 first):
	// the order rotates from round to round.
	Position int      `json:"position"`
	Elapsed  Duration `json:"elapsed"`
	// Scheduled counts the requests the turn was to send: the count asked
	// for, or in a timed turn the starts that fell due before it stopped
	// (open loop: by the clock; closed loop and pages: as many as it
	// started). Scheduled = Sent + Unsent.
	Scheduled int64 `json:"scheduled"`
	// Unsent counts scheduled requests that never started: the turn was
	// stopped (its duration ended, Ctrl-C) while they waited for the cap
	// of requests in flight, or the turn could not run at all (Error).
	Unsent int64 `json:"unsent"`
	// Every request sent ends as exactly one of OK (a 2xx response read to
	// the end), Failed (an error, or a status other than 2xx) and Cancelled
	// (stopped by Ctrl-C): Sent = OK + Failed + Cancelled.
	Sent      int64 `json:"sent"`
	OK        int64 `json:"ok"`
	Failed    int64 `json:"failed"`
	Cancelled int64 `json:"cancelled"`
	// Error says why the turn could not run (its client could not be
	// built); its requests are then Unsent.
	Error string `json:"error,omitempty"`
	// Statuses counts responses by status code, 2xx or not.
	Statuses map[string]int64 `json:"statuses,omitempty"`
	// Errors counts failures by kind ("status 503", "connection reset", ...).
	Errors map[string]int64 `json:"errors,omitempty"`
	// Throughput is OK responses per second of Elapsed.
	Throughput float64 `json:"throughput_rps"`
	// AchievedRate is the rate at which an open-loop turn started its
	// requests, per second, beside the scenario's Rate.
	AchievedRate float64 `json:"achieved_rate_rps,omitempty"`
	// Latency runs from when the workload asked for a request (its
	// intended start in Open mode, its page's start in Page mode) to the
	// last byte read, and is the sum of three parts: Lag, the time the
	// request spent in the harness before it was handed to the client
	// (open loop: schedule lag behind the cap; pages: the delay in
	// launching the page's requests; closed loop: none, not recorded);
	// Wait, from then until the client had a connection or stream slot
	// and could send it; Service, from then to the last byte. Only OK
	// requests are in them.
	Latency *Dist `json:"latency"`
	Lag     *Dist `json:"lag,omitempty"`
	Wait    *Dist `json:"wait,omitempty"`
	Service *Dist `json:"service,omitempty"`
	// Page is the time from a page's first request to its last byte, for
	// the pages whose every object succeeded; PagesIncomplete counts the
	// pages left out for a failed or cancelled object.
	Page            *Dist `json:"page,omitempty"`
	PagesIncomplete int64 `json:"pages_incomplete,omitempty"`
	// Backends are the figures per backend behind a balancing front
	// (Scenario.Backends, or responses naming their backend): requests
	// answered, their share, their latency. Skew is the busiest backend's
	// share against an even one (1: even; the number of backends: all on
	// one).
	Backends []BackendFigures `json:"backends,omitempty"`
	Skew     float64          `json:"skew,omitempty"`
	// Carts counts what became of the carts of a cart scenario, by kind
	// ("stateful", "stateless").
	Carts map[string]*CartCounts `json:"carts,omitempty"`
	// Classes splits Latency by kind of request when a scenario mixes
	// them ("fast", "slow").
	Classes map[string]*Dist `json:"classes,omitempty"`
	// Client is the contender's own count of connections; nil when it
	// cannot tell (hey).
	Client *ClientConns `json:"client,omitempty"`
	// Server is the server's count during the round, warm-up included; nil
	// when the server's counts are unavailable.
	Server *ServerConns `json:"server,omitempty"`
	// Link is the emulated link's truth over the measured part of the
	// turn; nil on loopback.
	Link *Link `json:"link,omitempty"`
	// Disagreement explains how client and server counts differ; empty
	// when they agree or cannot be compared.
	Disagreement string `json:"disagreement,omitempty"`
	// CPU is the user and system CPU time of the muxlab process during the
	// measured part of the turn (no warm-up; after a GC), the embedded
	// server's included if any (Target.CPUScope); CPUPerReqUS is CPU per OK
	// request, in microseconds.
	CPU         Duration `json:"cpu"`
	CPUPerReqUS float64  `json:"cpu_per_req_us"`
	// Model is the expected page time (Page mode).
	Model *Model `json:"model,omitempty"`
	// Sample keeps the timings of a few requests (the first measured page
	// of the round) for a waterfall.
	Sample []Timing `json:"sample,omitempty"`
	// Browser is a browser contender's own timings of its pages; nil for
	// muxlab's clients.
	Browser *Browser `json:"browser,omitempty"`
}

// Browser is what a real browser's own timings (Navigation and Resource
// Timing) say about the complete pages of a turn, and how busy the machine
// was while it loaded them.
type Browser struct {
	// Pages counts the complete pages timed; the durations are summed over
	// them.
	Pages int64 `json:"pages"`
	// FirstRequest is from each navigation start to the page's first
	// request sent: the browser's own work (the document parsed, the
	// objects found and scheduled) and, on a page that opens connections,
	// their handshakes.
	FirstRequest Duration `json:"first_request"`
	// Network is the time at least one request was sent and not yet
	// answered in full: waiting on the link and the server.
	Network Duration `json:"network"`
	// Idle is the rest of the page time (first request to last byte) with
	// no request in flight: the browser's own work and limits, handshakes
	// after the first.
	Idle Duration `json:"idle"`
	// AfterLastByte is from the last object's last byte to the end of the
	// load event: decoding and layout.
	AfterLastByte Duration `json:"after_last_byte"`
	// CPUStall is how long, within Wall (the measured part of the turn),
	// some task of the machine was waiting for a CPU (Linux's pressure
	// stall information): the browser's processes, the harness's and
	// anything else. QuietStall is the same within QuietWall, a moment
	// before the browser started, when nothing of muxlab's ran: a machine
	// busy with something else. CPUStallKnown is false where the kernel
	// does not say.
	CPUStall      Duration `json:"cpu_stall"`
	Wall          Duration `json:"wall"`
	QuietStall    Duration `json:"quiet_stall"`
	QuietWall     Duration `json:"quiet_wall"`
	CPUStallKnown bool     `json:"cpu_stall_known"`
}

// LoadedPressure is the share of time with some task waiting for a CPU,
// while nothing of muxlab's runs, above which a browser's figures are not
// to be trusted: the browser would compete with something else for the
// machine. (With the browser and the harness running, a 2-core machine
// shows 30 to 40% as a matter of course; that is part of what is measured.)
const LoadedPressure = 0.10

// Pressure is the share of the turn some task waited for a CPU, and of the
// quiet moment before it; ok is false when they are not known.
func (b *Browser) Pressure() (turn, quiet float64, ok bool) {
	if b == nil || !b.CPUStallKnown || b.Wall <= 0 || b.QuietWall <= 0 {
		return 0, 0, false
	}
	return float64(b.CPUStall) / float64(b.Wall), float64(b.QuietStall) / float64(b.QuietWall), true
}

// Loaded says the machine was too busy with something else to time the
// browser fairly.
func (b *Browser) Loaded() bool {
	_, q, ok := b.Pressure()
	return ok && q > LoadedPressure
}

// Add adds o's pages and times to b; the stall stays known if it was in
// both.
func (b *Browser) Add(o *Browser) {
	b.Pages += o.Pages
	b.FirstRequest += o.FirstRequest
	b.Network += o.Network
	b.Idle += o.Idle
	b.AfterLastByte += o.AfterLastByte
	b.CPUStall += o.CPUStall
	b.Wall += o.Wall
	b.QuietStall += o.QuietStall
	b.QuietWall += o.QuietWall
	b.CPUStallKnown = b.CPUStallKnown && o.CPUStallKnown
}

// ClientConns is what a client reported about its connections.
type ClientConns struct {
	Dials int64 `json:"dials"`
	// WarmupDials counts the dials of the warm-up pages' clients when every
	// page has a client of its own (cold pages), left out of Dials; the
	// server's count of the turn includes them.
	WarmupDials          int64   `json:"warmup_dials,omitempty"`
	Reconnects           int64   `json:"reconnects"`
	Retries              int64   `json:"retries,omitempty"`
	ConnsPeak            int64   `json:"conns_peak"`
	InFlightPeak         int64   `json:"in_flight_peak"`
	WaitingPeak          int64   `json:"waiting_peak"`
	PeakStreams          int64   `json:"peak_streams,omitempty"`
	MaxConcurrentStreams uint32  `json:"max_concurrent_streams,omitempty"`
	RequestsPerConn      []int64 `json:"requests_per_conn"`
	// QUIC is QUIC's own view of an HTTP/3 client's connection over the
	// measured part of the turn; nil for TCP.
	QUIC *QUICConns `json:"quic,omitempty"`
	// Sidecar is the sidecar's own count, for a contender whose app talks
	// through one (the app's connections are the figures above); nil
	// otherwise.
	Sidecar *SidecarConns `json:"sidecar,omitempty"`
}

// SidecarConns is what a sidecar counted in a turn (warm-up included): the
// app connections it accepted, its upstream connection's dials, reconnects
// and peak streams, the requests it answered 502, and the latency it added
// per request, milliseconds.
type SidecarConns struct {
	ConnectionsIn       int64   `json:"connections_in"`
	UpstreamDials       int64   `json:"upstream_dials"`
	UpstreamReconnects  int64   `json:"upstream_reconnects"`
	UpstreamPeakStreams int64   `json:"upstream_peak_streams"`
	BadGateway          int64   `json:"bad_gateway"`
	AddedP50MS          float64 `json:"added_p50_ms"`
	AddedP99MS          float64 `json:"added_p99_ms"`
}

// QUICConns is what the client's QUIC counted: the packets it sent and
// declared lost (their frames are sent again, so QUIC has no "retransmits"
// of TCP's kind), and its smoothed round trip at the end. The client sends
// requests and acknowledgements; a response's packets lost on the way down
// are the server's to count, and the link's drops show them.
type QUICConns struct {
	PacketsSent   int64   `json:"packets_sent"`
	PacketsLost   int64   `json:"packets_lost"`
	SmoothedRTTMS float64 `json:"smoothed_rtt_ms"`
}

// ServerConns is what the server counted on the contender's listener.
type ServerConns struct {
	Listener string `json:"listener"`
	// Match says how the listener was matched to the contender's target
	// when not by name and address both (by address only, by name only,
	// or ambiguously); empty for an exact match.
	Match               string `json:"match,omitempty"`
	ConnectionsAccepted int64  `json:"connections_accepted"`
	// ConnectionsIdle counts the accepted connections that carried no
	// request (a browser's speculative ones, a probe).
	ConnectionsIdle     int64            `json:"connections_idle,omitempty"`
	Requests            int64            `json:"requests"`
	PeakInFlightPerConn int64            `json:"peak_in_flight_per_conn"`
	Protos              map[string]int64 `json:"protos,omitempty"`
	// QUICResent is how many pieces of response data an HTTP/3 listener
	// sent again (lost, or sent again when its probe timer fired), and
	// QUICResentWaitMS their mean wait from first sending: QUIC's loss
	// recovery as the server saw it, whoever the client (the embedded
	// server over a lossy link).
	QUICResent       int64   `json:"quic_resent,omitempty"`
	QUICResentWaitMS float64 `json:"quic_resent_wait_ms,omitempty"`
}

// Model is what a page should take: HTTP/1.1 fetches ceil(objects/conns)
// objects one after another on each connection, HTTP/2 all of them at once
// (up to MAX_CONCURRENT_STREAMS). Each turn lasts about one server delay
// plus one round trip plus one object's time at the bottleneck; the
// bottleneck carries the whole page (Transfer) after the first round trip.
// On a lossy link the turns also repair losses (Recovery) and each
// connection's bytes cross at its loss-limited rate (LossTime). Predicted
// is the longest of these bounds (Bound names which), plus Handshake when
// every page opens its connections (a cold page).
type Model struct {
	Turns int `json:"turns"`
	// RTT is the round trip measured before the run on the contender's own
	// protocol (the median of up to 21 tiny requests on one connection, at least 5, as many as fit in 2 s);
	// RTTError says why it could not be, and then TurnTime, Predicted and
	// Deviation are zero: no prediction rests on a round trip of 0.
	RTT      Duration `json:"rtt"`
	RTTError string   `json:"rtt_error,omitempty"`
	TurnTime Duration `json:"turn_time"`
	// Transfer is the page's bytes at the network's downlink rate (zero:
	// unlimited); Handshake the round trips a cold page's connections take
	// before their first request; Bound "round trips" or "bandwidth".
	Transfer  Duration `json:"transfer,omitempty"`
	Handshake Duration `json:"handshake,omitempty"`
	// Pipelined says the turns follow one round trip, paid once (HTTP/1.1
	// pipelining: the requests at once, the answers one after another):
	// Predicted = Turns x TurnTime (no round trip in it) + RTT.
	Pipelined bool `json:"pipelined,omitempty"`
	// On a lossy link: Recovery is what the turns are expected to spend
	// repairing lost packets (about a round trip for each turn that loses
	// one), added to the round-trip bound; LossTime the busiest
	// connection's bytes at the rate one connection keeps under that loss
	// (Padhye et al., 1998), a bound of its own after the first turn.
	Recovery Duration `json:"recovery,omitempty"`
	LossTime Duration `json:"loss_time,omitempty"`
	// Bound is "round trips", "bandwidth" or "loss".
	Bound     string   `json:"bound,omitempty"`
	Predicted Duration `json:"predicted"`
	// Measured is the median page time; Deviation is (Measured -
	// Predicted) / Predicted.
	Measured  Duration `json:"measured"`
	Deviation float64  `json:"deviation"`
}

// The classes of a scenario of two kinds of request (Round.Classes) beside
// "fast" and "slow": the fast requests' wait for a connection or stream slot,
// the time their answers waited behind earlier answers on their connection
// (HTTP/1.1 pipelining), and the time their bytes waited on lost packets
// being sent again (over an emulated link, TCP's as the link measured it:
// any lost packet on the connection holds every stream; HTTP/3's as QUIC
// saw it: only its own stream's). ClassFastLoss is absent when it was not
// measured (TCP without an emulated link).
const (
	ClassFastWait = "fast wait"
	ClassFastHeld = "fast held back"
	ClassFastLoss = "fast loss wait"
)

// Timing is one sampled request, in microseconds from the start of its page.
type Timing struct {
	Object  int    `json:"object"`
	Conn    uint64 `json:"conn"`
	StartUS int64  `json:"start_us"`
	SentUS  int64  `json:"sent_us"`
	EndUS   int64  `json:"end_us"`
	Status  int    `json:"status"`
}

// Ratio compares one figure of two contenders: Other's value divided by
// Baseline's, as the median over rounds with the smallest and largest.
type Ratio struct {
	Figure   string  `json:"figure"`
	Baseline string  `json:"baseline"`
	Other    string  `json:"other"`
	Median   float64 `json:"median"`
	Min      float64 `json:"min"`
	Max      float64 `json:"max"`
}

// Duration is a time.Duration written in JSON as a Go duration string
// ("50ms"), and read back from one.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes d as a string like "1.5s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(time.Duration(d).String())), nil
}

// UnmarshalJSON reads a string like "1.5s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: want a string like \"50ms\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

// BackendFigures is one backend's share of a round behind a balancing
// front.
type BackendFigures struct {
	Name string `json:"name"`
	// Requests is how many requests it answered: its own count when the
	// server is the embedded one (Counted), else the responses that named
	// it.
	Requests int64 `json:"requests"`
	Counted  bool  `json:"counted,omitempty"`
	// Share is Requests over every backend's.
	Share float64 `json:"share"`
	// Latency is the latency of the responses that named it.
	Latency *Dist `json:"latency,omitempty"`
}

// SkewOf is the busiest backend's share against an even one: 1 when even,
// len(b) when one backend had everything; 0 with no requests.
func SkewOf(b []BackendFigures) float64 { return SkewOver(b, len(b)) }

// SkewOver is SkewOf over n backends when b, which names only those that
// answered, holds fewer.
func SkewOver(b []BackendFigures, n int) float64 {
	var total, most int64
	for _, x := range b {
		total += x.Requests
		most = max(most, x.Requests)
	}
	if total == 0 {
		return 0
	}
	return float64(most) / float64(total) * float64(max(n, len(b)))
}

// CartCounts is what became of a round's carts of one kind. Every cart
// started is one of Found (read back as filled), Lost (its server no
// longer had it: a read answered 404, or an add that found it gone and
// started a new one), Wrong (read back with other items), Failed (a
// request of it failed: a stateful cart cannot tell whether its add took;
// a stateless one is carried by the client and sends the request again, up
// to three times) or Unfinished (the turn ended first).
type CartCounts struct {
	Carts      int64 `json:"carts"`
	Found      int64 `json:"found"`
	Lost       int64 `json:"lost"`
	Wrong      int64 `json:"wrong"`
	Failed     int64 `json:"failed"`
	Unfinished int64 `json:"unfinished"`
	// LostOnStopped counts the lost and failed carts that had lived on the
	// backend stopped mid-turn (Scenario.StopBackend).
	LostOnStopped int64 `json:"lost_on_stopped,omitempty"`
}

// Add adds o's counts to c.
func (c *CartCounts) Add(o *CartCounts) {
	c.Carts += o.Carts
	c.Found += o.Found
	c.Lost += o.Lost
	c.Wrong += o.Wrong
	c.Failed += o.Failed
	c.Unfinished += o.Unfinished
	c.LostOnStopped += o.LostOnStopped
}
