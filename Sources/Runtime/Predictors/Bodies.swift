import CKernels

// The bodies of the predictor networks: each maps a batch of architectures to one vector per
// architecture (the head's input), owns its parameters' offsets and its workspace, and
// backpropagates into the shared gradient buffer. A new body (attention, an ensemble
// member's variant) is one more type here; `Network` holds the head and whichever body its
// shape names.

/// A network's body.
protocol NetworkBody: AnyObject {
    /// Width of each architecture's vector.
    var width: Int { get }
    /// Runs the body on `batch`, writing (B, width) into `pooled`. Training keeps what
    /// backward needs and applies dropout.
    func forward(_ params: UnsafePointer<Float>, _ batch: InputBatch, training: Bool, rng: inout RandomStream, pooled: UnsafeMutablePointer<Float>)
    /// From dL/dpooled (B, width; the body may overwrite it), adds the body's gradients
    /// into `grads`, for the batch of the last training forward.
    func backward(_ params: UnsafePointer<Float>, _ grads: UnsafeMutablePointer<Float>, _ batch: InputBatch, dPooled: UnsafeMutablePointer<Float>)
}

extension NetworkShape {
    /// The body this shape names, its parameters appended to `layout`.
    func makeBody(capacity: Int, layout: inout ParameterLayout) -> NetworkBody {
        switch kind {
        case .gcn: return GCNBody(self, capacity: capacity, layout: &layout)
        case .mlp: return MLPBody(self, capacity: capacity, layout: &layout)
        case .cnn: return CNNBody(self, capacity: capacity, layout: &layout)
        }
    }
}

/// The paper's bidirectional GCN: per layer, H·[Wf | Wb], propagated by the normalised
/// adjacency and its transpose, biased, the two ReLUs averaged, dropout; then the mean over
/// each architecture's real vertices.
final class GCNBody: NetworkBody {
    let shape: NetworkShape
    var weights: [Int] = [], biases: [Int] = [], inputs: [Int] = []
    var af: FloatBuffer, ab: FloatBuffer
    var p: [FloatBuffer] = [], z: [FloatBuffer] = [], h: [FloatBuffer] = [], masks: [FloatBuffer] = []
    var dh: FloatBuffer, dp: FloatBuffer, dz: FloatBuffer, scratch: FloatBuffer
    // Inference: distinct rows of a layer's input and their product (see RowDeduplicator).
    let dedup = RowDeduplicator()
    var uniqueRows: FloatBuffer, uniqueProduct: FloatBuffer
    var dedupRows: [Int], dedupUnique: [Int]
    var distinctRowProducts = true
    /// The weights' transposes for backward's dH products, kept current by the fit (once per
    /// step for both halves of a batch); when nil, backward refreshes its own, made on first use.
    var transposed: TransposedWeights?
    private var ownTransposes: TransposedWeights?
    /// Whether backward stores the layers' weight gradients instead of adding them to
    /// `grads` (a fit's half, which clears only the rest: one pass less over most of its
    /// gradient; a product's chain from zero stored is bit for bit zero plus that chain).
    var storesWeightGradients = false
    var width: Int { shape.dim }

    /// The parameters of layer l's weight matrix (its input width × 2D, row-major).
    func weightRange(_ l: Int) -> Range<Int> { weights[l]..<(weights[l] + inputs[l] * 2 * shape.dim) }

    init(_ shape: NetworkShape, capacity B: Int, layout: inout ParameterLayout) {
        self.shape = shape
        let V = shape.vertices, D = shape.dim, rows = B * V
        for l in 0..<shape.layers {
            let din = l == 0 ? shape.opKinds : D
            inputs.append(din)
            weights.append(layout.add("gcn\(l).weight", rows: din, cols: 2 * D, weight: true))
            biases.append(layout.add("gcn\(l).bias", rows: 1, cols: 2 * D, weight: false))
            p.append(FloatBuffer(rows * 2 * D))
            z.append(FloatBuffer(rows * 2 * D))
            h.append(FloatBuffer(rows * D))
            masks.append(FloatBuffer(rows * D))
        }
        af = FloatBuffer(B * V * V)
        ab = FloatBuffer(B * V * V)
        dh = FloatBuffer(rows * max(D, shape.opKinds))
        dp = FloatBuffer(rows * 2 * D)
        dz = FloatBuffer(rows * 2 * D)
        scratch = FloatBuffer(2 * D)
        uniqueRows = FloatBuffer(rows * D)
        uniqueProduct = FloatBuffer(rows * 2 * D)
        dedupRows = [Int](repeating: 0, count: shape.layers)
        dedupUnique = dedupRows
    }

    func forward(_ params: UnsafePointer<Float>, _ batch: InputBatch, training: Bool, rng: inout RandomStream, pooled: UnsafeMutablePointer<Float>) {
        guard training else { return infer(params, batch, pooled: pooled) }
        let B = batch.size, V = shape.vertices, D = shape.dim
        normalizedAdjacency(batch.adjacency.pointer, batch.counts, batch: B, vertices: V, forward: af.pointer, backward: ab.pointer)
        for l in 0..<shape.layers {
            let input = l == 0 ? UnsafePointer(batch.ops.pointer) : UnsafePointer(h[l - 1].pointer)
            // P = H · [Wf | Wb]        (B·V, 2D)
            npsh_gemm(B * V, 2 * D, inputs[l], input, inputs[l], 1, params + weights[l], 2 * D, p[l].pointer, 2 * D, 0)
            // Z = [Af·Pf | Ab·Pb] + b, H = (relu(Zf) + relu(Zb)) / 2 times dropout's mask, drawn
            // first (CKernels, one pass).
            let dropout = shape.dropout > 0
            if dropout { dropoutMask(masks[l].pointer, count: B * V * D, rate: shape.dropout, rng: &rng) }
            npsh_bidirectional_layer_train(af.pointer, ab.pointer, p[l].pointer, params + biases[l], B, V, D, dropout ? masks[l].pointer : nil,
                                           z[l].pointer, h[l].pointer)
        }
        meanPool(h[shape.layers - 1].pointer, counts: batch.counts, pooled, batch: B, vertices: V, dim: D)
    }

    /// Inference: the arithmetic of training's forward, with propagation, bias and ReLU-mean
    /// fused in one pass that never stores z, the last layer pooling as it goes instead of
    /// storing its rows, and — where a layer's input has few distinct rows (after one layer a
    /// vertex's row depends only on its op and its neighbours' ops) — the product taken over
    /// those rows only, read through the row map.
    func infer(_ params: UnsafePointer<Float>, _ batch: InputBatch, pooled: UnsafeMutablePointer<Float>) {
        let B = batch.size, V = shape.vertices, D = shape.dim
        normalizedAdjacency(batch.adjacency.pointer, batch.counts, batch: B, vertices: V, forward: af.pointer, backward: ab.pointer)
        for l in 0..<shape.layers {
            let input = l == 0 ? UnsafePointer(batch.ops.pointer) : UnsafePointer(h[l - 1].pointer)
            let din = inputs[l], last = l == shape.layers - 1
            let bias = params + biases[l]
            let pool = last ? (out: pooled, counts: UnsafePointer(batch.counts)) : nil
            if l > 0 && distinctRowProducts {
                let u = dedup.run(input, rows: B * V, width: din, unique: uniqueRows.pointer)
                dedupRows[l] += B * V
                dedupUnique[l] += u
                if 20 * u < 19 * B * V {
                    npsh_gemm(u, 2 * D, din, uniqueRows.pointer, din, 1, params + weights[l], 2 * D, uniqueProduct.pointer, 2 * D, 0)
                    dedup.map.withUnsafeBufferPointer { m in
                        npsh_bidirectional_layer_inference(af.pointer, ab.pointer, uniqueProduct.pointer, m.baseAddress!, 2 * D, bias, B, V, D,
                                                           h[l].pointer, pool?.out, pool?.counts, scratch.pointer)
                    }
                    continue
                }
            }
            npsh_gemm(B * V, 2 * D, din, input, din, 1, params + weights[l], 2 * D, p[l].pointer, 2 * D, 0)
            npsh_bidirectional_layer_inference(af.pointer, ab.pointer, p[l].pointer, nil, 2 * D, bias, B, V, D, h[l].pointer, pool?.out,
                                               pool?.counts, scratch.pointer)
        }
    }

    func backward(_ params: UnsafePointer<Float>, _ grads: UnsafeMutablePointer<Float>, _ batch: InputBatch, dPooled: UnsafeMutablePointer<Float>) {
        let B = batch.size, V = shape.vertices, D = shape.dim
        let dH = dh.pointer, dP = dp.pointer, dZ = dz.pointer
        meanPoolBackward(dPooled, counts: batch.counts, dH, batch: B, vertices: V, dim: D)
        let wt: TransposedWeights
        if let transposed {
            wt = transposed
        } else {
            wt = ownTransposes ?? TransposedWeights(self)
            ownTransposes = wt
            wt.refresh(params)
        }
        for l in stride(from: shape.layers - 1, through: 0, by: -1) {
            // Through dropout's mask and the ReLUs into dZ, dZ's rows into the bias gradient,
            // then dP = [Afᵀ·dZf | Abᵀ·dZb]   (B·V × 2D) (CKernels, one pass per graph).
            npsh_bidirectional_layer_backward(af.pointer, ab.pointer, z[l].pointer, dH, shape.dropout > 0 ? UnsafePointer(masks[l].pointer) : nil,
                                              B, V, D, dZ, grads + biases[l], dP)
            let din = inputs[l]
            let input = l == 0 ? UnsafePointer(batch.ops.pointer) : UnsafePointer(h[l - 1].pointer)
            // dW += Hᵀ · dP    (din, 2D), or dW = Hᵀ · dP (storesWeightGradients)
            npsh_gemm(din, 2 * D, B * V, input, 1, din, dP, 2 * D, grads + weights[l], 2 * D, storesWeightGradients ? 0 : 1)
            if l > 0 {
                // dH = dP · Wᵀ      (B·V, din), Wᵀ transposed once per step (see `transposed`)
                npsh_gemm(B * V, din, 2 * D, dP, 2 * D, 1, wt.pointer(layer: l), din, dH, din, 0)
            }
        }
    }
}

/// The transposes of a GCN's weights Wᵀ (2D × din per layer) for the dH = dP·Wᵀ products of
/// training, shared by the networks of a batch's halves: made once before the first step,
/// then written by the optimizer as it updates the weights (`matrices`).
final class TransposedWeights: @unchecked Sendable {
    let shape: NetworkShape
    let offsets: [Int], sources: [Range<Int>], inputs: [Int]
    let buffer: FloatBuffer

    init(_ body: GCNBody) {
        shape = body.shape
        sources = body.weights.indices.map(body.weightRange)
        inputs = body.inputs
        var offsets: [Int] = [], total = 0
        for din in body.inputs {
            offsets.append(total)
            total += din * 2 * shape.dim
        }
        self.offsets = offsets
        buffer = FloatBuffer(total)
    }

    /// Transposes the current weights (layer 0's are never needed: it has no dH).
    func refresh(_ params: UnsafePointer<Float>) {
        for l in 1..<max(1, inputs.count) {
            npsh_transpose(params + sources[l].lowerBound, inputs[l], 2 * shape.dim, 2 * shape.dim, buffer.pointer + offsets[l], inputs[l])
        }
    }

    func pointer(layer l: Int) -> UnsafePointer<Float> { UnsafePointer(buffer.pointer + offsets[l]) }

    /// The matrices for an optimizer that writes the transposes as it updates the weights
    /// (AdamOptimizer.transposing): every layer's but the first.
    var matrices: [(range: Range<Int>, rows: Int, cols: Int, destination: UnsafeMutablePointer<Float>)] {
        (1..<max(1, inputs.count)).map { l in
            (sources[l], inputs[l], 2 * shape.dim, buffer.pointer + offsets[l])
        }
    }
}

/// The MLP ablation: dense ReLU layers (with dropout) over [one-hot ops ‖ upper triangle].
final class MLPBody: NetworkBody {
    let shape: NetworkShape
    var weights: [Int] = [], biases: [Int] = [], inputs: [Int] = []
    var h: [FloatBuffer] = [], masks: [FloatBuffer] = []
    var other: FloatBuffer
    var width: Int { shape.dim }

    init(_ shape: NetworkShape, capacity B: Int, layout: inout ParameterLayout) {
        self.shape = shape
        let D = shape.dim
        for l in 0..<shape.layers {
            let din = l == 0 ? shape.flatWidth : D
            inputs.append(din)
            weights.append(layout.add("mlp\(l).weight", rows: din, cols: D, weight: true))
            biases.append(layout.add("mlp\(l).bias", rows: 1, cols: D, weight: false))
            h.append(FloatBuffer(B * D))
            masks.append(FloatBuffer(B * D))
        }
        other = FloatBuffer(B * D)
    }

    func forward(_ params: UnsafePointer<Float>, _ batch: InputBatch, training: Bool, rng: inout RandomStream, pooled: UnsafeMutablePointer<Float>) {
        let B = batch.size, D = shape.dim
        for l in 0..<shape.layers {
            let input = l == 0 ? UnsafePointer(batch.flat.pointer) : UnsafePointer(h[l - 1].pointer)
            dense(input, rows: B, inDim: inputs[l], params + weights[l], params + biases[l], outDim: D, h[l].pointer)
            reluInPlace(h[l].pointer, count: B * D)
            if training && shape.dropout > 0 {
                dropoutForward(h[l].pointer, mask: masks[l].pointer, count: B * D, rate: shape.dropout, rng: &rng)
            }
        }
        pooled.update(from: h[shape.layers - 1].pointer, count: B * D)
    }

    func backward(_ params: UnsafePointer<Float>, _ grads: UnsafeMutablePointer<Float>, _ batch: InputBatch, dPooled: UnsafeMutablePointer<Float>) {
        let B = batch.size, D = shape.dim
        var dH = dPooled, spare = other.pointer
        for l in stride(from: shape.layers - 1, through: 0, by: -1) {
            if shape.dropout > 0 { multiplyInPlace(dH, by: masks[l].pointer, count: B * D) }
            reluBackward(h[l].pointer, dH, count: B * D)
            let input = l == 0 ? UnsafePointer(batch.flat.pointer) : UnsafePointer(h[l - 1].pointer)
            denseBackward(input, rows: B, inDim: inputs[l], params + weights[l], grads + weights[l], grads + biases[l], outDim: D,
                          dy: dH, dx: l > 0 ? spare : nil)
            swap(&dH, &spare)
        }
    }
}

/// The 1-D CNN ablation: kernel-3 convolutions (as im2col products) with ReLU and dropout
/// along [one-hot ops ‖ upper triangle]; the output keeps every position (B, L·D), so the
/// head sees where each feature is.
final class CNNBody: NetworkBody {
    let shape: NetworkShape
    var weights: [Int] = [], biases: [Int] = [], inputs: [Int] = []
    var cols: [FloatBuffer] = [], h: [FloatBuffer] = [], masks: [FloatBuffer] = []
    var dh: FloatBuffer, next: FloatBuffer, columns: FloatBuffer
    var width: Int { shape.flatWidth * shape.dim }

    init(_ shape: NetworkShape, capacity B: Int, layout: inout ParameterLayout) {
        self.shape = shape
        let D = shape.dim, rows = B * shape.flatWidth
        for l in 0..<shape.layers {
            let cin = l == 0 ? 1 : D
            inputs.append(cin)
            weights.append(layout.add("cnn\(l).weight", rows: 3 * cin, cols: D, weight: true))
            biases.append(layout.add("cnn\(l).bias", rows: 1, cols: D, weight: false))
            cols.append(FloatBuffer(rows * 3 * cin))
            h.append(FloatBuffer(rows * D))
            masks.append(FloatBuffer(rows * D))
        }
        dh = FloatBuffer(rows * D)
        next = FloatBuffer(rows * D)
        columns = FloatBuffer(rows * 3 * D)
    }

    func forward(_ params: UnsafePointer<Float>, _ batch: InputBatch, training: Bool, rng: inout RandomStream, pooled: UnsafeMutablePointer<Float>) {
        let B = batch.size, D = shape.dim, L = shape.flatWidth
        for l in 0..<shape.layers {
            let cin = inputs[l]
            let input = l == 0 ? UnsafePointer(batch.flat.pointer) : UnsafePointer(h[l - 1].pointer)
            im2col(input, batch: B, length: L, channels: cin, cols[l].pointer)
            dense(cols[l].pointer, rows: B * L, inDim: 3 * cin, params + weights[l], params + biases[l], outDim: D, h[l].pointer)
            reluInPlace(h[l].pointer, count: B * L * D)
            if training && shape.dropout > 0 {
                dropoutForward(h[l].pointer, mask: masks[l].pointer, count: B * L * D, rate: shape.dropout, rng: &rng)
            }
        }
        pooled.update(from: h[shape.layers - 1].pointer, count: B * L * D)
    }

    func backward(_ params: UnsafePointer<Float>, _ grads: UnsafeMutablePointer<Float>, _ batch: InputBatch, dPooled: UnsafeMutablePointer<Float>) {
        let B = batch.size, D = shape.dim, L = shape.flatWidth
        var dH = dh.pointer, spare = next.pointer
        dH.update(from: dPooled, count: B * L * D)
        for l in stride(from: shape.layers - 1, through: 0, by: -1) {
            if shape.dropout > 0 { multiplyInPlace(dH, by: masks[l].pointer, count: B * L * D) }
            reluBackward(h[l].pointer, dH, count: B * L * D)
            let cin = inputs[l]
            denseBackward(cols[l].pointer, rows: B * L, inDim: 3 * cin, params + weights[l], grads + weights[l], grads + biases[l], outDim: D,
                          dy: dH, dx: l > 0 ? columns.pointer : nil)
            if l > 0 {
                col2im(columns.pointer, batch: B, length: L, channels: cin, spare)
                swap(&dH, &spare)
            }
        }
    }
}
