package hub

import (
	"log/slog"
	"testing"
	"time"
)

// urgentSource is a hammerSource whose tasks go first.
type urgentSource struct{ *hammerSource }

func (urgentSource) Urgent() bool { return true }

// TestInferenceTasksGoFirst: with training tasks already queued, tasks of
// an urgent source (inference) are leased before any of them, and training
// resumes once the urgent source is empty.
func TestInferenceTasksGoFirst(t *testing.T) {
	h := &Hub{log: slog.New(slog.DiscardHandler)}
	s := newScheduler(time.Minute)
	train := newHammerSource("train", 100)
	s.addSource(train, false)
	sess := newFakeSession(h, "0xa", 8+sendQueue)
	s.join(sess, 1)
	// One training task leased, more queued behind it by the batch pull.
	first := <-sess.send
	if first.lease.task.Job != "train" {
		t.Fatalf("first task is %s's", first.lease.task.Job)
	}
	if len(s.queue) == 0 {
		t.Fatal("no training task is queued: the test needs some waiting")
	}
	infer := urgentSource{newHammerSource("infer", 12)}
	s.addSource(infer, false)
	var order []string
	var ids []uint64
	task, err := takeTask(s, sess, first.lease.task.ID)
	if err != nil {
		t.Fatal(err)
	}
	s.finish(sess, task, true)
	for range 14 {
		f := <-sess.send
		order = append(order, f.lease.task.Job)
		if f.lease.task.Job == "infer" {
			ids = append(ids, f.lease.task.ID)
		}
		task, err := takeTask(s, sess, f.lease.task.ID)
		if err != nil {
			t.Fatal(err)
		}
		s.finish(sess, task, true)
	}
	for i, job := range order {
		if want := map[bool]string{true: "infer", false: "train"}[i < 12]; job != want {
			t.Fatalf("leased %v: the 12 inference tasks first", order)
		}
	}
	// Among urgent tasks, first come first served: a later pull does not
	// jump ahead of urgent tasks already queued.
	for i := 1; i < len(ids); i++ {
		if ids[i] < ids[i-1] {
			t.Fatalf("inference tasks leased in order %v", ids)
		}
	}
}
