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
	infer := urgentSource{newHammerSource("infer", 3)}
	s.addSource(infer, false)
	var order []string
	task, err := takeTask(s, sess, first.lease.task.ID)
	if err != nil {
		t.Fatal(err)
	}
	s.finish(sess, task, true)
	for range 5 {
		f := <-sess.send
		order = append(order, f.lease.task.Job)
		task, err := takeTask(s, sess, f.lease.task.ID)
		if err != nil {
			t.Fatal(err)
		}
		s.finish(sess, task, true)
	}
	want := []string{"infer", "infer", "infer", "train", "train"}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("leased %v, want %v", order, want)
		}
	}
}
