package results

import "fmt"

// MaxFileBytes bounds a result file that Read accepts: a run's histograms
// take a few hundred KiB (a sweep of many points, a few MiB), so a file
// far larger is not one muxlab wrote.
const MaxFileBytes = 64 << 20

// FieldError says which count of a result breaks the result's invariants.
type FieldError struct {
	// Field names the count: `contenders[1] "h2" rounds[0].failed`.
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Validate checks the invariants of every count in r, its sweep's points
// and its agents': no count is negative; every request sent ended as ok,
// failed or cancelled (Sent = OK + Failed + Cancelled); every request
// scheduled was sent or not (Scheduled = Sent + Unsent); the failures by
// kind add up to Failed. A result that breaks them did not come from
// muxlab, or was edited, and its figures cannot be trusted.
func (r *Run) Validate() error {
	for i := range r.Contenders {
		c := &r.Contenders[i]
		where := fmt.Sprintf("contenders[%d] %q", i, c.Name)
		for j := range c.Rounds {
			if err := c.Rounds[j].validate(fmt.Sprintf("%s rounds[%d]", where, j)); err != nil {
				return err
			}
		}
		if err := c.Total.validate(where + " total"); err != nil {
			return err
		}
	}
	for i, a := range r.Agents {
		for j, t := range a.Contenders {
			if t.OK < 0 || t.Sent < 0 || t.OK > t.Sent {
				return &FieldError{fmt.Sprintf("agents[%d] %q contenders[%d] %q", i, a.Name, j, t.Name),
					fmt.Sprintf("ok %d of sent %d", t.OK, t.Sent)}
			}
		}
	}
	if r.Sweep != nil {
		for i, p := range r.Sweep.Points {
			if p.Run == nil {
				continue
			}
			if err := p.Run.Validate(); err != nil {
				return fmt.Errorf("sweep.points[%d] (%s): %w", i, p.Value, err)
			}
		}
	}
	return nil
}

func (rd *Round) validate(where string) error {
	for _, f := range []struct {
		name string
		n    int64
	}{{"scheduled", rd.Scheduled}, {"unsent", rd.Unsent}, {"sent", rd.Sent}, {"ok", rd.OK}, {"failed", rd.Failed}, {"cancelled", rd.Cancelled}} {
		if f.n < 0 {
			return &FieldError{where + "." + f.name, fmt.Sprintf("%d is negative", f.n)}
		}
	}
	if rd.OK+rd.Failed+rd.Cancelled != rd.Sent {
		return &FieldError{where + ".sent", fmt.Sprintf("ok %d + failed %d + cancelled %d is not sent %d", rd.OK, rd.Failed, rd.Cancelled, rd.Sent)}
	}
	if rd.Scheduled > 0 && rd.Sent+rd.Unsent != rd.Scheduled {
		return &FieldError{where + ".scheduled", fmt.Sprintf("ok %d + failed %d + cancelled %d + unsent %d is not scheduled %d",
			rd.OK, rd.Failed, rd.Cancelled, rd.Unsent, rd.Scheduled)}
	}
	var kinds int64
	for k, n := range rd.Errors {
		if n < 0 {
			return &FieldError{fmt.Sprintf("%s.errors[%q]", where, k), fmt.Sprintf("%d is negative", n)}
		}
		kinds += n
	}
	if rd.Errors != nil && kinds != rd.Failed {
		return &FieldError{where + ".errors", fmt.Sprintf("the kinds add up to %d, failed is %d", kinds, rd.Failed)}
	}
	for k, n := range rd.Statuses {
		if n < 0 {
			return &FieldError{fmt.Sprintf("%s.statuses[%q]", where, k), fmt.Sprintf("%d is negative", n)}
		}
	}
	return nil
}
