package link

import (
	"fmt"
	"strings"
	"time"
)

// Profile is a named network: the round trip, the bandwidth each way, the
// bottleneck's queue and the loss a user of that network meets. A profile
// of none (Emulated false) is the machine's own network: no link at all.
type Profile struct {
	Name    string
	Summary string
	// Emulated is false for the profile that runs on the machine's own
	// network (loopback), without a link.
	Emulated bool
	// RTT is the round trip the link adds, split evenly between the two
	// directions.
	RTT time.Duration
	// Down and Up are the bottleneck rates, bits per second (zero:
	// unlimited).
	Down, Up int64
	// QueueTime sizes each direction's drop-tail queue as this much time at
	// its rate (zero with a rate: DefaultQueueTime).
	QueueTime time.Duration
	// Loss is each direction's loss rate, 0 to 1; Burst the mean length of
	// a loss burst, packets (see Direction.Burst).
	Loss, Burst float64
	// Source says where the figures come from.
	Source string
}

// DefaultQueueTime is the bottleneck queue, as time at the bottleneck's
// rate, when none is given: about what home routers and cable and mobile
// modems buffer (measurements of access links find 100 ms and far more, the
// "bufferbloat" of Gettys and Nichols, 2011). A profile's queue is never
// below MinQueueBDP round trips' worth of bytes either: gVisor's TCP paces
// nothing and has no proportional rate reduction, so a slow start that
// overflows a shallow queue by a burst loses hundreds of packets and can
// take seconds of retransmission timeouts to recover (see the README).
const DefaultQueueTime = 100 * time.Millisecond

// MinQueueBDP is the smallest queue of a profile, in bandwidth-delay
// products of its path.
const MinQueueBDP = 2

const wpt = "WebPageTest's connectivity profiles (also Chrome DevTools' and Lighthouse's throttling presets)"

// Profiles lists the named networks, loopback first (a copy: the caller may
// change it).
func Profiles() []Profile { return append([]Profile(nil), profiles...) }

// profiles are the named networks, loopback first.
var profiles = []Profile{
	{Name: "loopback", Summary: "this machine's loopback, no emulation: today's behaviour, where a round trip costs microseconds",
		Source: "none: the kernel's loopback"},
	{Name: "lan", Emulated: true, Summary: "a switched gigabit LAN", RTT: time.Millisecond, Down: 1_000_000_000, Up: 1_000_000_000,
		QueueTime: 2 * time.Millisecond, Source: "typical gigabit Ethernet: about 0.2 ms per switch hop, rounded up"},
	{Name: "fiber", Emulated: true, Summary: "fiber to the home, 20/5 Mbit/s, 4 ms", RTT: 4 * time.Millisecond, Down: 20_000_000, Up: 5_000_000,
		Source: wpt + ", \"FIOS\""},
	{Name: "cable", Emulated: true, Summary: "cable broadband, 5/1 Mbit/s, 28 ms", RTT: 28 * time.Millisecond, Down: 5_000_000, Up: 1_000_000,
		Source: wpt + ", \"Cable\""},
	{Name: "dsl", Emulated: true, Summary: "ADSL, 1.5 Mbit/s/384 kbit/s, 50 ms", RTT: 50 * time.Millisecond, Down: 1_500_000, Up: 384_000,
		Source: wpt + ", \"DSL\""},
	{Name: "lte", Emulated: true, Summary: "a good LTE connection, 12/12 Mbit/s, 70 ms", RTT: 70 * time.Millisecond, Down: 12_000_000, Up: 12_000_000,
		Source: wpt + ", \"LTE\""},
	{Name: "4g", Emulated: true, Summary: "a typical 4G mobile connection, 9/9 Mbit/s, 170 ms", RTT: 170 * time.Millisecond, Down: 9_000_000, Up: 9_000_000,
		Source: wpt + ", \"4G\""},
	{Name: "3g", Emulated: true, Summary: "3G, 1.6 Mbit/s/768 kbit/s, 300 ms", RTT: 300 * time.Millisecond, Down: 1_600_000, Up: 768_000,
		Source: wpt + ", \"3G\""},
	{Name: "wifi-lossy", Emulated: true, Summary: "a busy Wi-Fi hop: 30/15 Mbit/s, 20 ms, 2% loss in bursts of 2",
		RTT: 20 * time.Millisecond, Down: 30_000_000, Up: 15_000_000, Loss: 0.02, Burst: 2,
		Source: "illustrative, not a measurement: home Wi-Fi studies report residual loss of about 1 to 3% in bursts where the channel is busy"},
	{Name: "satellite", Emulated: true, Summary: "geostationary satellite broadband, 25/3 Mbit/s, 600 ms", RTT: 600 * time.Millisecond, Down: 25_000_000, Up: 3_000_000,
		Source: "the FCC's Measuring Broadband America reports (geostationary satellite: about 600 ms round trip; 25/3 Mbit/s plans)"},
}

// ProfileNames lists the profiles' names.
func ProfileNames() []string {
	out := make([]string, len(profiles))
	for i, p := range profiles {
		out[i] = p.Name
	}
	return out
}

// LookupProfile returns the profile of that name.
func LookupProfile(name string) (Profile, error) {
	for _, p := range profiles {
		if p.Name == name {
			return p, nil
		}
	}
	return Profile{}, fmt.Errorf("link: unknown network profile %q; valid: %s", name, strings.Join(ProfileNames(), ", "))
}

// QueueBytes is the queue of a direction at rate for the profile: its
// QueueTime (or DefaultQueueTime) at that rate, at least MinQueueBDP times
// the path's bandwidth-delay product and two packets of mtu bytes. Zero
// when rate is zero (nothing waits).
func (p Profile) QueueBytes(rate int64, mtu int) int64 {
	if rate == 0 {
		return 0
	}
	qt := max(p.QueueTime, MinQueueBDP*p.RTT)
	if p.QueueTime == 0 {
		qt = max(DefaultQueueTime, MinQueueBDP*p.RTT)
	}
	return max(int64(qt.Seconds()*float64(rate)/8), 2*int64(mtu))
}

// Options returns the link options of p: half the round trip each way, the
// rates, queues and loss of the profile.
func (p Profile) Options(seed int64) Options {
	half := p.RTT / 2
	dir := func(rate int64) Direction {
		return Direction{Delay: half, Rate: rate, Queue: p.QueueBytes(rate, DefaultMTU), Loss: p.Loss, Burst: p.Burst}
	}
	return Options{Up: dir(p.Up), Down: dir(p.Down), Seed: seed}
}
