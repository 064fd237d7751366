package lm

import "math"

// The element-wise work of a step, done on the hub in float32 with
// float64 accumulators where sums are long.

// layerNorm normalizes each of the m rows of x (m×d) and applies gain g
// and bias b. It returns y and, for the backward pass, x̂ and 1/σ per row.
func layerNorm(x []float32, m, d int, g, b []float32) (y, xhat, rstd []float32) {
	y = make([]float32, m*d)
	xhat = make([]float32, m*d)
	rstd = make([]float32, m)
	for r := range m {
		row := x[r*d : (r+1)*d]
		var mean float64
		for _, v := range row {
			mean += float64(v)
		}
		mean /= float64(d)
		var vr float64
		for _, v := range row {
			dv := float64(v) - mean
			vr += dv * dv
		}
		vr /= float64(d)
		rs := 1 / math.Sqrt(vr+LayerNormEps)
		rstd[r] = float32(rs)
		xh, yr := xhat[r*d:(r+1)*d], y[r*d:(r+1)*d]
		for k, v := range row {
			h := float32((float64(v) - mean) * rs)
			xh[k] = h
			yr[k] = h*g[k] + b[k]
		}
	}
	return y, xhat, rstd
}

// layerNormBackward returns dx for dy through the LayerNorm whose x̂ and
// 1/σ are given, and adds the gain's and bias's gradients to dg and db.
func layerNormBackward(dy, xhat, rstd []float32, m, d int, g, dg, db []float32) []float32 {
	dx := make([]float32, m*d)
	for r := range m {
		dyr, xh := dy[r*d:(r+1)*d], xhat[r*d:(r+1)*d]
		var mdxh, mdxhx float64
		for k, v := range dyr {
			dxh := float64(v * g[k])
			mdxh += dxh
			mdxhx += dxh * float64(xh[k])
			dg[k] += v * xh[k]
			db[k] += v
		}
		mdxh /= float64(d)
		mdxhx /= float64(d)
		rs := float64(rstd[r])
		out := dx[r*d : (r+1)*d]
		for k, v := range dyr {
			dxh := float64(v * g[k])
			out[k] = float32(rs * (dxh - mdxh - float64(xh[k])*mdxhx))
		}
	}
	return dx
}

// geluC is √(2/π), the constant of GPT-2's tanh approximation of GELU.
var geluC = math.Sqrt(2 / math.Pi)

// gelu is GPT-2's GELU: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
func gelu(x float32) float32 {
	y, _ := geluTanh(x)
	return y
}

// geluTanh returns gelu(x) and the tanh it took, which the backward pass
// reuses (geluGrad) rather than computing it again: the tanh is most of
// GELU's cost, and GELU most of the hub's element-wise work.
func geluTanh(x float32) (y float32, t float64) {
	v := float64(x)
	t = math.Tanh(geluC * (v + 0.044715*v*v*v))
	return float32(0.5 * v * (1 + t)), t
}

// geluGrad is the derivative of gelu at x, given the tanh geluTanh took.
func geluGrad(x float32, t float64) float32 {
	v := float64(x)
	du := geluC * (1 + 3*0.044715*v*v)
	return float32(0.5*(1+t) + 0.5*v*(1-t*t)*du)
}

// causalSoftmax turns n score matrices (t×t each, scaled by scale) into
// attention probabilities with position i attending to positions ≤ i;
// masked entries are 0.
func causalSoftmax(s []float32, n, t int, scale float32) []float32 {
	p := make([]float32, len(s))
	for z := range n {
		for i := range t {
			softmaxPrefix(s[(z*t+i)*t:(z*t+i+1)*t], p[(z*t+i)*t:(z*t+i+1)*t], i+1, scale)
		}
	}
	return p
}

// softmaxPrefix writes into out the softmax of the first n entries of row
// (scaled by scale); the rest of out stays 0.
func softmaxPrefix(row, out []float32, n int, scale float32) {
	mx := float32(math.Inf(-1))
	for j := range n {
		mx = max(mx, row[j]*scale)
	}
	var sum float64
	for j := range n {
		e := math.Exp(float64(row[j]*scale - mx))
		out[j] = float32(e)
		sum += e
	}
	inv := float32(1 / sum)
	for j := range n {
		out[j] *= inv
	}
}

// causalSoftmaxBackward returns the gradient of the (unscaled) scores
// from dp through the softmax with probabilities p and the scale.
func causalSoftmaxBackward(dp, p []float32, n, t int, scale float32) []float32 {
	ds := make([]float32, len(p))
	for z := range n {
		for i := range t {
			o := (z*t + i) * t
			var dot float64
			for j := 0; j <= i; j++ {
				dot += float64(dp[o+j] * p[o+j])
			}
			for j := 0; j <= i; j++ {
				ds[o+j] = p[o+j] * (dp[o+j] - float32(dot)) * scale
			}
		}
	}
	return ds
}

// CrossEntropy returns the sum over the m rows of logits (m×v) of the
// negative log-likelihood of targets, in nats, and, if grad is set, the
// gradient of the mean loss, (softmax − onehot)/m. The language model
// and the MLP (hub/train) share it.
func CrossEntropy(logits []float32, targets []byte, m, v int, grad bool) (float64, []float32) {
	var g []float32
	if grad {
		g = make([]float32, len(logits))
	}
	var loss float64
	for r := range m {
		row := logits[r*v : (r+1)*v]
		mx := row[0]
		for _, x := range row {
			mx = max(mx, x)
		}
		var sum float64
		for _, x := range row {
			sum += math.Exp(float64(x - mx))
		}
		lse := float64(mx) + math.Log(sum)
		loss += lse - float64(row[targets[r]])
		if grad {
			gr := g[r*v : (r+1)*v]
			for k, x := range row {
				gr[k] = float32(math.Exp(float64(x)-lse) / float64(m))
			}
			gr[targets[r]] -= 1 / float32(m)
		}
	}
	return loss, g
}

// addInPlace adds b to a element by element.
func addInPlace(a, b []float32) {
	for i, v := range b {
		a[i] += v
	}
}

// addBias adds the bias vector b (n) to every row of x (m×n).
func addBias(x []float32, m, n int, b []float32) {
	for r := range m {
		row := x[r*n : (r+1)*n]
		for k, v := range b {
			row[k] += v
		}
	}
}

// sumRows adds the column sums of x (m×n) to db.
func sumRows(x []float32, m, n int, db []float32) {
	for r := range m {
		for k, v := range x[r*n : (r+1)*n] {
			db[k] += v
		}
	}
}
