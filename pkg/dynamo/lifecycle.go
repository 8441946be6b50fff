package dynamo

import (
	"github.com/refx-dev/refx/pkg/item"
	"github.com/refx-dev/refx/pkg/refx"
)

// reviewToItem copies e's plan and review to its item.
func reviewToItem(e *refx.Experiment, it *experimentItem) {
	it.PlannedStart, it.PlannedEnd, it.MDE, it.PlannedSampleSize = e.PlannedStart, e.PlannedEnd, e.MDE, e.PlannedSampleSize
	if p := e.Priority; p != nil {
		it.Priority = &item.Priority{Impact: p.Impact, Confidence: p.Confidence, Ease: p.Ease}
	}
	for _, l := range e.Links {
		it.Links = append(it.Links, item.Link{Title: l.Title, URL: l.URL})
	}
	it.LastEditor = e.LastEditor
	if a := e.SubmittedBy; a != nil {
		stored := toActorItem(*a)
		it.SubmittedBy = &stored
	}
	if a := e.Approval; a != nil {
		it.Approval = &item.Stamp{By: toActorItem(a.By), At: a.At}
	}
	if c := e.Conclusion; c != nil {
		it.Decision, it.Learnings = c.Decision, c.Learnings
		it.Concluded = &item.Stamp{By: toActorItem(c.By), At: c.At}
	}
}

// reviewOf copies the item's plan and review to e.
func reviewOf(it experimentItem, e *refx.Experiment) {
	e.PlannedStart, e.PlannedEnd, e.MDE, e.PlannedSampleSize = it.PlannedStart, it.PlannedEnd, it.MDE, it.PlannedSampleSize
	if p := it.Priority; p != nil {
		e.Priority = (&refx.Priority{Impact: p.Impact, Confidence: p.Confidence, Ease: p.Ease}).Scored()
	}
	for _, l := range it.Links {
		e.Links = append(e.Links, refx.Link{Title: l.Title, URL: l.URL})
	}
	e.LastEditor = it.LastEditor
	if a := it.SubmittedBy; a != nil {
		actor := actorOf(*a)
		e.SubmittedBy = &actor
	}
	if a := it.Approval; a != nil {
		e.Approval = &refx.Approval{By: actorOf(a.By), At: a.At}
	}
	if it.Decision != "" && it.Concluded != nil {
		e.Conclusion = &refx.Conclusion{Decision: it.Decision, Learnings: it.Learnings, By: actorOf(it.Concluded.By), At: it.Concluded.At}
	}
}

func toActorItem(a refx.Actor) item.Actor {
	return item.Actor{ID: a.ID, Name: a.Name, Role: string(a.Role)}
}

func actorOf(a item.Actor) refx.Actor {
	return refx.Actor{ID: a.ID, Name: a.Name, Role: refx.AdminRole(a.Role)}
}
