package train

// Keepers returns the addresses keeping blocks of the trainer's weights
// now (held blocks and own workers' whole layers excluded), for tests in
// package train_test.
func (t *Trainer) Keepers() map[string]bool {
	out := map[string]bool{}
	if t.res != nil {
		for _, bs := range t.res.blocks {
			for _, rt := range bs {
				if !rt.held && rt.blk.addr != "" {
					out[rt.blk.addr] = true
				}
			}
		}
	}
	return out
}
