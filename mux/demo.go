package mux

import (
	"bytes"
	"cmp"
	_ "embed"
	"encoding/json"
	"html/template"
	"image"
	"image/color"
	"image/png"
	"math"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"
)

// The browser demo: /demo is a page with two panes (three with an HTTP/3
// listener) that load the same grid of tiles at once, one pane from each
// TLS listener, and shows how long each
// took, which protocol every tile came over, and (from the server's own
// count) how many connections carried the tiles of that load.

// Bounds of the demo's parameters.
const (
	DefaultDemoTiles = 100
	MaxDemoTiles     = 1000
	demoPicture      = 480 // px, the side of the picture the tiles are cut from
	maxDemoLoads     = 64  // loads whose connections /demo/result remembers
)

var loadIDPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,32}$`)

//go:embed demo.html.tmpl
var demoTmpl string

var demoTemplate = template.Must(template.New("demo").Parse(demoTmpl))

// demoLoads remembers, for the most recent loads of the demo page, which
// connection of which listener carried how many of its tiles.
type demoLoads struct {
	mu    sync.Mutex // mu guards the following
	loads map[string]map[string]map[uint64]int
	order []string
}

func newDemoLoads() *demoLoads {
	return &demoLoads{loads: map[string]map[string]map[uint64]int{}}
}

func (d *demoLoads) record(load, listener string, conn uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	byListener, ok := d.loads[load]
	if !ok {
		if len(d.order) == maxDemoLoads {
			delete(d.loads, d.order[0])
			d.order = d.order[1:]
		}
		d.order = append(d.order, load)
		byListener = map[string]map[uint64]int{}
		d.loads[load] = byListener
	}
	if byListener[listener] == nil {
		byListener[listener] = map[uint64]int{}
	}
	byListener[listener][conn]++
}

// DemoPane is what the server saw of one pane of one load.
type DemoPane struct {
	Tiles       int        `json:"tiles"`
	Connections []DemoConn `json:"connections"`
}

// DemoConn is one connection's share of a pane's tiles.
type DemoConn struct {
	ID    uint64 `json:"id"`
	Tiles int    `json:"tiles"`
}

// DemoResult returns, for one load of the demo page, each TLS listener's
// connections that carried its tiles.
func (s *Server) DemoResult(load string) map[string]DemoPane {
	s.demo.mu.Lock()
	defer s.demo.mu.Unlock()
	out := map[string]DemoPane{}
	for listener, conns := range s.demo.loads[load] {
		var p DemoPane
		for id, n := range conns {
			p.Connections = append(p.Connections, DemoConn{ID: id, Tiles: n})
			p.Tiles += n
		}
		slices.SortFunc(p.Connections, func(a, b DemoConn) int { return cmp.Compare(a.ID, b.ID) })
		out[listener] = p
	}
	return out
}

// serveDemo serves the page.
func (s *Server) serveDemo(w http.ResponseWriter, r *http.Request) {
	q := query{v: r.URL.Query()}
	n := q.integer("n", DefaultDemoTiles, 1, MaxDemoTiles)
	delay := q.duration("delay", 200*time.Millisecond, MaxDelay)
	if q.err != nil {
		badRequest(w, q.err)
		return
	}
	h1, h2, h3 := s.origin(r, ListenerH1TLS), s.origin(r, ListenerH2TLS), s.origin(r, ListenerH3)
	if h1 == "" || h2 == "" {
		http.Error(w, "the demo needs the TLS listeners: run muxlab serve --demo", http.StatusNotFound)
		return
	}
	var b bytes.Buffer
	// The listeners' idle counts now, before the load: the page shows what
	// its load added.
	st := s.Stats()
	idle := map[string]int64{}
	for _, name := range []string{ListenerH1TLS, ListenerH2TLS, ListenerH3} {
		idle[name] = st.Listeners[name].ConnectionsIdle
	}
	idleJSON, _ := json.Marshal(idle)
	err := demoTemplate.Execute(&b, map[string]any{
		"IdleBefore": string(idleJSON),
		"N":          n, "Delay": delay.String(), "H1": h1, "H2": h2, "H3": h3, "Network": s.opts.Network,
		"Delays": []string{"0s", "30ms", "200ms", "1s"}, "Counts": []int{16, 100, 400, 1000},
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b.Bytes())
}

// origin is the https origin of the named listener as the browser should
// reach it: the host the page was asked for, the listener's port.
func (s *Server) origin(r *http.Request, name string) string {
	addr := s.Addr(name)
	if addr == "" {
		return ""
	}
	_, port, _ := net.SplitHostPort(addr)
	host := r.Host
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		host = h
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return "https://" + net.JoinHostPort(host, port)
}

// serveDemoTile serves tile i of a picture cut into n squares, after delay,
// and counts it against the connection and load it came on.
func (s *Server) serveDemoTile(w http.ResponseWriter, r *http.Request) {
	q := query{v: r.URL.Query()}
	n := q.integer("n", DefaultDemoTiles, 1, MaxDemoTiles)
	i := q.bounded("i", r.PathValue("i"), 0, 0, MaxDemoTiles-1)
	delay := q.duration("delay", 0, MaxDelay)
	load, hasLoad := q.lookup("load")
	if q.err == nil && i >= n {
		q.fail("i", r.PathValue("i"), "is out of range", "0 to n-1 = "+strconv.Itoa(n-1))
	}
	if q.err == nil && hasLoad && !loadIDPattern.MatchString(load) {
		q.fail("load", load, "is not an id of letters and digits", "1 to 32 of them")
	}
	if q.err != nil {
		badRequest(w, q.err)
		return
	}
	if rec, _ := r.Context().Value(connKey{}).(*connRecord); rec != nil && hasLoad {
		s.demo.record(load, rec.ls.name, rec.id)
	}
	if err := sleep(r.Context(), delay); err != nil {
		return
	}
	var b bytes.Buffer
	if err := png.Encode(&b, tile(n, i)); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/png")
	h.Set("Cache-Control", "no-store")
	// Let the page read the protocol of a tile from another origin.
	h.Set("Timing-Allow-Origin", "*")
	w.Write(b.Bytes())
}

// serveDemoResult answers which connections carried a load's tiles, per
// listener, with the listeners' counts of idle connections.
func (s *Server) serveDemoResult(w http.ResponseWriter, r *http.Request) {
	q := query{v: r.URL.Query()}
	load, ok := q.lookup("load")
	if !ok || !loadIDPattern.MatchString(load) {
		badRequest(w, &ParamError{Param: "load", Value: load, Reason: "is not an id of letters and digits", Allow: "1 to 32 of them"})
		return
	}
	st := s.Stats()
	idle := map[string]int64{}
	for _, name := range []string{ListenerH1TLS, ListenerH2TLS, ListenerH3} {
		idle[name] = st.Listeners[name].ConnectionsIdle
	}
	writeJSON(w, map[string]any{"load": load, "panes": s.DemoResult(load), "idle": idle})
}

var (
	pictureOnce sync.Once
	picture     *image.RGBA
)

// tile returns square i of the picture cut into a grid for n tiles.
func tile(n, i int) image.Image {
	pictureOnce.Do(func() { picture = drawPicture(demoPicture) })
	cols := int(math.Ceil(math.Sqrt(float64(n))))
	rows := (n + cols - 1) / cols
	col, row := i%cols, i/cols
	rect := image.Rect(col*demoPicture/cols, row*demoPicture/rows, (col+1)*demoPicture/cols, (row+1)*demoPicture/rows)
	return picture.SubImage(rect)
}

// drawPicture draws the Mandelbrot set, coloured by escape time: a picture
// with detail everywhere, so that a person sees it assemble tile by tile.
func drawPicture(side int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, side, side))
	const maxIter = 80
	for py := range side {
		for px := range side {
			cx := -2.2 + 3.0*float64(px)/float64(side)
			cy := -1.5 + 3.0*float64(py)/float64(side)
			x, y, k := 0.0, 0.0, 0
			for ; k < maxIter && x*x+y*y <= 4; k++ {
				x, y = x*x-y*y+cx, 2*x*y+cy
			}
			img.SetRGBA(px, py, escapeColor(k, maxIter))
		}
	}
	return img
}

func escapeColor(k, maxIter int) color.RGBA {
	if k == maxIter {
		return color.RGBA{R: 0x10, G: 0x18, B: 0x30, A: 0xff}
	}
	t := float64(k) / float64(maxIter)
	return color.RGBA{
		R: uint8(255 * math.Min(1, 9*(1-t)*t*t*t*4)),
		G: uint8(255 * math.Min(1, 15*(1-t)*(1-t)*t*t*2)),
		B: uint8(255 * math.Min(1, 8.5*(1-t)*(1-t)*(1-t)*t*3+0.25)),
		A: 0xff,
	}
}
