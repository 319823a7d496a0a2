import CKernels

// The predictor networks: a body (bidirectional GCN, MLP or 1-D CNN) that maps a batch of
// architectures to one vector each, a head of fully connected ReLU layers, and one output
// unit. Forward keeps what backward needs; backward accumulates into a gradient buffer laid
// out like the parameters.

/// Which body.
public enum ModelKind: String, Sendable, CaseIterable, Codable {
    case gcn, mlp, cnn
}

/// How the output unit is read.
public enum OutputMode: String, Sendable, CaseIterable, Codable {
    /// 0.1 + 0.9·sigmoid(z): accuracy in [10 %, 100 %] (the paper).
    case shifted
    /// sigmoid(z) in [0, 1] (the seed's "reshifted" option).
    case sigmoid
    /// z itself, on standardised labels (loss mode, for lower-is-better metrics).
    case linear
}

/// The shape of a network.
public struct NetworkShape: Sendable, Equatable, Codable {
    public var kind: ModelKind
    public var layers: Int
    public var dim: Int
    public var fc: [Int]
    public var dropout: Float
    public var output: OutputMode
    public var vertices: Int
    public var opKinds: Int

    public init(kind: ModelKind = .gcn, layers: Int = 3, dim: Int = 144, fc: [Int] = [128], dropout: Float = 0.1,
                output: OutputMode = .shifted, vertices: Int = 7, opKinds: Int = 5) {
        self.kind = kind
        self.layers = layers
        self.dim = dim
        self.fc = fc
        self.dropout = dropout
        self.output = output
        self.vertices = vertices
        self.opKinds = opKinds
    }

    var flatWidth: Int { vertices * opKinds + vertices * (vertices - 1) / 2 }
}

/// One network with its workspace for batches of up to `capacity`.
public final class Network: @unchecked Sendable {
    public let shape: NetworkShape
    public let layout: ParameterLayout
    public let capacity: Int
    // Offsets of each tensor.
    var bodyW: [Int] = [], bodyB: [Int] = []
    var headW: [Int] = [], headB: [Int] = []
    var bodyIn: [Int] = []
    // Workspace.
    var af: FloatBuffer, ab: FloatBuffer
    var p: [FloatBuffer] = [], z: [FloatBuffer] = [], h: [FloatBuffer] = [], masks: [FloatBuffer] = []
    var cols: [FloatBuffer] = []  // CNN im2col per layer
    var pooled: FloatBuffer
    var u: [FloatBuffer] = []
    var out: FloatBuffer
    var gradA: FloatBuffer, gradB: FloatBuffer, gradC: FloatBuffer
    var cnnColumns: FloatBuffer, cnnNext: FloatBuffer
    // Inference: distinct rows of a layer's input and their product (see RowDeduplicator).
    let dedup = RowDeduplicator()
    var uniqueRows: FloatBuffer, uniqueProduct: FloatBuffer
    /// Rows and distinct rows seen by inference products, and rows actually multiplied, per
    /// layer (for the benchmark).
    public private(set) var dedupRows = [Int](), dedupUnique = [Int](), multipliedRows = [Int]()
    var batchSize = 0
    /// Width of the body's output, the head's input.
    var repWidth: Int { shape.kind == .cnn ? shape.flatWidth * shape.dim : shape.dim }

    public init(shape: NetworkShape, capacity: Int) {
        self.shape = shape
        self.capacity = capacity
        let V = shape.vertices, D = shape.dim, B = capacity
        var layout = ParameterLayout()
        switch shape.kind {
        case .gcn:
            for l in 0..<shape.layers {
                let din = l == 0 ? shape.opKinds : D
                bodyIn.append(din)
                bodyW.append(layout.add("gcn\(l).weight", rows: din, cols: 2 * D, weight: true))
                bodyB.append(layout.add("gcn\(l).bias", rows: 1, cols: 2 * D, weight: false))
            }
        case .mlp:
            for l in 0..<shape.layers {
                let din = l == 0 ? shape.flatWidth : D
                bodyIn.append(din)
                bodyW.append(layout.add("mlp\(l).weight", rows: din, cols: D, weight: true))
                bodyB.append(layout.add("mlp\(l).bias", rows: 1, cols: D, weight: false))
            }
        case .cnn:
            for l in 0..<shape.layers {
                let cin = l == 0 ? 1 : D
                bodyIn.append(cin)
                bodyW.append(layout.add("cnn\(l).weight", rows: 3 * cin, cols: D, weight: true))
                bodyB.append(layout.add("cnn\(l).bias", rows: 1, cols: D, weight: false))
            }
        }
        var din = shape.kind == .cnn ? shape.flatWidth * D : D
        for (k, width) in (shape.fc + [1]).enumerated() {
            headW.append(layout.add(k < shape.fc.count ? "fc\(k).weight" : "out.weight", rows: din, cols: width, weight: true))
            headB.append(layout.add(k < shape.fc.count ? "fc\(k).bias" : "out.bias", rows: 1, cols: width, weight: false))
            din = width
        }
        self.layout = layout
        af = FloatBuffer(B * V * V)
        ab = FloatBuffer(B * V * V)
        let rows = shape.kind == .gcn ? B * V : shape.kind == .cnn ? B * shape.flatWidth : B
        for l in 0..<shape.layers {
            switch shape.kind {
            case .gcn:
                p.append(FloatBuffer(rows * 2 * D))
                z.append(FloatBuffer(rows * 2 * D))
            case .mlp:
                z.append(FloatBuffer(rows * D))
            case .cnn:
                cols.append(FloatBuffer(rows * 3 * (l == 0 ? 1 : D)))
                z.append(FloatBuffer(rows * D))
            }
            h.append(FloatBuffer(rows * D))
            masks.append(FloatBuffer(rows * D))
        }
        pooled = FloatBuffer(B * (shape.kind == .cnn ? shape.flatWidth * D : D))
        for width in shape.fc { u.append(FloatBuffer(B * width)) }
        out = FloatBuffer(B)
        let widest = max(rows * 2 * D, B * max(D, shape.fc.max() ?? 1), rows * D)
        gradA = FloatBuffer(widest)
        gradB = FloatBuffer(widest)
        gradC = FloatBuffer(max(rows * 3 * D, widest))
        uniqueRows = FloatBuffer(shape.kind == .gcn ? rows * D : 0)
        uniqueProduct = FloatBuffer(shape.kind == .gcn ? rows * 2 * D : 0)
        dedupRows = [Int](repeating: 0, count: shape.layers)
        dedupUnique = [Int](repeating: 0, count: shape.layers)
        multipliedRows = [Int](repeating: 0, count: shape.layers)
        cnnColumns = FloatBuffer(shape.kind == .cnn ? rows * 3 * D : 0)
        cnnNext = FloatBuffer(shape.kind == .cnn ? rows * D : 0)
    }

    /// The raw output z for each architecture of the batch: (B).
    @discardableResult
    public func forward(_ params: UnsafePointer<Float>, _ batch: InputBatch, training: Bool, rng: inout RandomStream) -> UnsafeMutablePointer<Float> {
        let B = batch.size, V = shape.vertices, D = shape.dim
        precondition(B <= capacity)
        batchSize = B
        switch shape.kind {
        case .gcn where !training:
            inferGCN(params, batch)
        case .gcn:
            normalizedAdjacency(batch.adjacency.pointer, batch.counts, batch: B, vertices: V, forward: af.pointer, backward: ab.pointer)
            for l in 0..<shape.layers {
                let input = l == 0 ? UnsafePointer(batch.ops.pointer) : UnsafePointer(h[l - 1].pointer)
                let din = bodyIn[l]
                // P = H · [Wf | Wb]        (B·V, 2D)
                BLAS.sgemm(transA: false, transB: false, m: B * V, n: 2 * D, k: din, alpha: 1, a: input, lda: din,
                           b: params + bodyW[l], ldb: 2 * D, beta: 0, c: p[l].pointer, ldc: 2 * D)
                // Z = [Af·Pf | Ab·Pb]
                batchedPropagate(af.pointer, transpose: false, p[l].pointer, ldx: 2 * D, z[l].pointer, ldo: 2 * D, batch: B, vertices: V, columns: D, accumulate: false)
                batchedPropagate(ab.pointer, transpose: false, p[l].pointer + D, ldx: 2 * D, z[l].pointer + D, ldo: 2 * D, batch: B, vertices: V, columns: D, accumulate: false)
                addBias(z[l].pointer, ld: 2 * D, rows: B * V, params + bodyB[l], cols: 2 * D)
                bidirectionalReLUMean(z[l].pointer, h[l].pointer, rows: B * V, dim: D)
                if shape.dropout > 0 {
                    dropoutForward(h[l].pointer, mask: masks[l].pointer, count: B * V * D, rate: shape.dropout, rng: &rng)
                }
            }
            meanPool(h[shape.layers - 1].pointer, counts: batch.counts, pooled.pointer, batch: B, vertices: V, dim: D)
        case .mlp:
            for l in 0..<shape.layers {
                let input = l == 0 ? UnsafePointer(batch.flat.pointer) : UnsafePointer(h[l - 1].pointer)
                dense(input, rows: B, inDim: bodyIn[l], params + bodyW[l], params + bodyB[l], outDim: D, h[l].pointer)
                reluInPlace(h[l].pointer, count: B * D)
                if training && shape.dropout > 0 {
                    dropoutForward(h[l].pointer, mask: masks[l].pointer, count: B * D, rate: shape.dropout, rng: &rng)
                }
            }
            pooled.pointer.update(from: h[shape.layers - 1].pointer, count: B * D)
        case .cnn:
            let L = shape.flatWidth
            for l in 0..<shape.layers {
                let cin = bodyIn[l]
                let input = l == 0 ? UnsafePointer(batch.flat.pointer) : UnsafePointer(h[l - 1].pointer)
                im2col(input, batch: B, length: L, channels: cin, cols[l].pointer)
                dense(cols[l].pointer, rows: B * L, inDim: 3 * cin, params + bodyW[l], params + bodyB[l], outDim: D, h[l].pointer)
                reluInPlace(h[l].pointer, count: B * L * D)
                if training && shape.dropout > 0 {
                    dropoutForward(h[l].pointer, mask: masks[l].pointer, count: B * L * D, rate: shape.dropout, rng: &rng)
                }
            }
            // Flattened positions × channels: (B, L·D), so the head sees where each feature is.
            pooled.pointer.update(from: h[shape.layers - 1].pointer, count: B * L * D)
        }
        var x = UnsafePointer(pooled.pointer)
        var din = repWidth
        for (k, width) in shape.fc.enumerated() {
            dense(x, rows: B, inDim: din, params + headW[k], params + headB[k], outDim: width, u[k].pointer)
            reluInPlace(u[k].pointer, count: B * width)
            x = UnsafePointer(u[k].pointer)
            din = width
        }
        dense(x, rows: B, inDim: din, params + headW[shape.fc.count], params + headB[shape.fc.count], outDim: 1, out.pointer)
        return out.pointer
    }

    /// The GCN body for inference, into `pooled`: the arithmetic of training's forward, with
    /// propagation, bias and ReLU-mean fused in one pass that never stores z, the last layer
    /// pooling as it goes instead of storing its rows, and — where a layer's input has few
    /// distinct rows (after one layer a vertex's row depends only on its op and its
    /// neighbours' ops) — the product taken over those rows only, read through the row map.
    func inferGCN(_ params: UnsafePointer<Float>, _ batch: InputBatch) {
        let B = batch.size, V = shape.vertices, D = shape.dim
        normalizedAdjacency(batch.adjacency.pointer, batch.counts, batch: B, vertices: V, forward: af.pointer, backward: ab.pointer)
        let scratch = gradA.pointer
        for l in 0..<shape.layers {
            let input = l == 0 ? UnsafePointer(batch.ops.pointer) : UnsafePointer(h[l - 1].pointer)
            let din = bodyIn[l], last = l == shape.layers - 1
            let bias = params + bodyB[l]
            let pool = last ? (out: pooled.pointer, counts: UnsafePointer(batch.counts)) : nil
            if l > 0 && distinctRowProducts {
                let u = dedup.run(input, rows: B * V, width: din, unique: uniqueRows.pointer)
                dedupRows[l] += B * V
                dedupUnique[l] += u
                if 20 * u < 19 * B * V {
                    multipliedRows[l] += u
                    BLAS.sgemm(transA: false, transB: false, m: u, n: 2 * D, k: din, alpha: 1, a: uniqueRows.pointer, lda: din,
                               b: params + bodyW[l], ldb: 2 * D, beta: 0, c: uniqueProduct.pointer, ldc: 2 * D)
                    dedup.map.withUnsafeBufferPointer { m in
                        npsh_bidirectional_layer_inference(af.pointer, ab.pointer, uniqueProduct.pointer, m.baseAddress!, 2 * D, bias, B, V, D,
                                                           h[l].pointer, pool?.out, pool?.counts, scratch)
                    }
                    continue
                }
            }
            multipliedRows[l] += B * V
            BLAS.sgemm(transA: false, transB: false, m: B * V, n: 2 * D, k: din, alpha: 1, a: input, lda: din,
                       b: params + bodyW[l], ldb: 2 * D, beta: 0, c: p[l].pointer, ldc: 2 * D)
            npsh_bidirectional_layer_inference(af.pointer, ab.pointer, p[l].pointer, nil, 2 * D, bias, B, V, D, h[l].pointer, pool?.out,
                                               pool?.counts, scratch)
        }
    }

    /// Whether inference multiplies only the distinct rows of a layer's input where that
    /// pays (on by default). It changes only the last bits of some outputs — OpenBLAS rounds
    /// a row's product differently at different places in a panel — never what a fixed batch
    /// gives; tests turn it off to compare inference with the training forward bit for bit.
    public var distinctRowProducts = true

    /// Backpropagates dL/dz (B) from the last `forward(training:)`, adding into `grads`.
    public func backward(_ params: UnsafePointer<Float>, _ grads: UnsafeMutablePointer<Float>, _ batch: InputBatch, dz: UnsafePointer<Float>) {
        let B = batchSize, V = shape.vertices, D = shape.dim
        // Head, last layer first.
        var dy = gradA.pointer, spare = gradB.pointer
        dy.update(from: dz, count: B)
        var outDim = 1
        for k in stride(from: shape.fc.count, through: 0, by: -1) {
            let inDim = k == 0 ? repWidth : shape.fc[k - 1]
            let x = k == 0 ? UnsafePointer(pooled.pointer) : UnsafePointer(u[k - 1].pointer)
            denseBackward(x, rows: B, inDim: inDim, params + headW[k], grads + headW[k], grads + headB[k], outDim: outDim, dy: dy, dx: spare)
            if k > 0 { reluBackward(u[k - 1].pointer, spare, count: B * inDim) }
            swap(&dy, &spare)
            outDim = inDim
        }
        // dy now holds dL/dpooled (B, D).
        switch shape.kind {
        case .gcn:
            let dh = spare
            meanPoolBackward(dy, counts: batch.counts, dh, batch: B, vertices: V, dim: D)
            let dH = dh, other = dy
            let dZ = gradC.pointer
            for l in stride(from: shape.layers - 1, through: 0, by: -1) {
                if shape.dropout > 0 { multiplyInPlace(dH, by: masks[l].pointer, count: B * V * D) }
                bidirectionalReLUMeanBackward(z[l].pointer, dH, dZ, rows: B * V, dim: D)
                accumulateBiasGradient(dZ, ld: 2 * D, rows: B * V, grads + bodyB[l], cols: 2 * D)
                // dP = [Afᵀ·dZf | Abᵀ·dZb]   (into `other`, B·V × 2D)
                let dP = other
                batchedPropagate(af.pointer, transpose: true, dZ, ldx: 2 * D, dP, ldo: 2 * D, batch: B, vertices: V, columns: D, accumulate: false)
                batchedPropagate(ab.pointer, transpose: true, dZ + D, ldx: 2 * D, dP + D, ldo: 2 * D, batch: B, vertices: V, columns: D, accumulate: false)
                let din = bodyIn[l]
                let input = l == 0 ? UnsafePointer(batch.ops.pointer) : UnsafePointer(h[l - 1].pointer)
                // dW += Hᵀ · dP    (din, 2D)
                BLAS.sgemm(transA: true, transB: false, m: din, n: 2 * D, k: B * V, alpha: 1, a: input, lda: din,
                           b: dP, ldb: 2 * D, beta: 1, c: grads + bodyW[l], ldc: 2 * D)
                if l > 0 {
                    // dH = dP · Wᵀ      (B·V, din)
                    BLAS.sgemm(transA: false, transB: true, m: B * V, n: din, k: 2 * D, alpha: 1, a: dP, lda: 2 * D,
                               b: params + bodyW[l], ldb: 2 * D, beta: 0, c: dH, ldc: din)
                }
            }
        case .mlp:
            var dH = dy, other = spare
            for l in stride(from: shape.layers - 1, through: 0, by: -1) {
                if shape.dropout > 0 { multiplyInPlace(dH, by: masks[l].pointer, count: B * D) }
                reluBackward(h[l].pointer, dH, count: B * D)
                let input = l == 0 ? UnsafePointer(batch.flat.pointer) : UnsafePointer(h[l - 1].pointer)
                denseBackward(input, rows: B, inDim: bodyIn[l], params + bodyW[l], grads + bodyW[l], grads + bodyB[l], outDim: D,
                              dy: dH, dx: l > 0 ? other : nil)
                swap(&dH, &other)
            }
        case .cnn:
            let L = shape.flatWidth
            var dH = gradC.pointer
            var cnnNextPointer = cnnNext.pointer
            dH.update(from: dy, count: B * L * D)
            for l in stride(from: shape.layers - 1, through: 0, by: -1) {
                if shape.dropout > 0 { multiplyInPlace(dH, by: masks[l].pointer, count: B * L * D) }
                reluBackward(h[l].pointer, dH, count: B * L * D)
                let cin = bodyIn[l]
                denseBackward(cols[l].pointer, rows: B * L, inDim: 3 * cin, params + bodyW[l], grads + bodyW[l], grads + bodyB[l], outDim: D,
                              dy: dH, dx: l > 0 ? cnnColumns.pointer : nil)
                if l > 0 {
                    col2im(cnnColumns.pointer, batch: B, length: L, channels: cin, cnnNextPointer)
                    swap(&dH, &cnnNextPointer)
                }
            }
        }
    }

    /// y (rows, out) = x (rows, in) · W (in, out) + b
    @inline(__always)
    func dense(_ x: UnsafePointer<Float>, rows: Int, inDim: Int, _ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>, outDim: Int, _ y: UnsafeMutablePointer<Float>) {
        for r in 0..<rows { (y + r * outDim).update(from: b, count: outDim) }
        BLAS.sgemm(transA: false, transB: false, m: rows, n: outDim, k: inDim, alpha: 1, a: x, lda: inDim, b: w, ldb: outDim, beta: 1, c: y, ldc: outDim)
    }

    /// dW += xᵀ·dy, db += Σ dy, dx = dy·Wᵀ.
    @inline(__always)
    func denseBackward(_ x: UnsafePointer<Float>, rows: Int, inDim: Int, _ w: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>,
                       _ db: UnsafeMutablePointer<Float>, outDim: Int, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?) {
        BLAS.sgemm(transA: true, transB: false, m: inDim, n: outDim, k: rows, alpha: 1, a: x, lda: inDim, b: dy, ldb: outDim, beta: 1, c: dw, ldc: outDim)
        accumulateBiasGradient(dy, ld: outDim, rows: rows, db, cols: outDim)
        if let dx {
            BLAS.sgemm(transA: false, transB: true, m: rows, n: inDim, k: outDim, alpha: 1, a: dy, lda: outDim, b: w, ldb: outDim, beta: 0, c: dx, ldc: inDim)
        }
    }
}

/// 1-D im2col with kernel 3 and zero padding 1: x (B, L, C) → cols (B·L, 3·C).
func im2col(_ x: UnsafePointer<Float>, batch B: Int, length L: Int, channels C: Int, _ cols: UnsafeMutablePointer<Float>) {
    for b in 0..<B {
        for t in 0..<L {
            let o = cols + (b * L + t) * 3 * C
            for k in 0..<3 {
                let s = t + k - 1
                if s < 0 || s >= L { for c in 0..<C { o[k * C + c] = 0 } } else {
                    let src = x + (b * L + s) * C
                    for c in 0..<C { o[k * C + c] = src[c] }
                }
            }
        }
    }
}

/// Adjoint of `im2col`: dx (B, L, C) = Σ over the windows that read each position.
func col2im(_ cols: UnsafePointer<Float>, batch B: Int, length L: Int, channels C: Int, _ dx: UnsafeMutablePointer<Float>) {
    dx.update(repeating: 0, count: B * L * C)
    for b in 0..<B {
        for t in 0..<L {
            let o = cols + (b * L + t) * 3 * C
            for k in 0..<3 {
                let s = t + k - 1
                if s < 0 || s >= L { continue }
                let d = dx + (b * L + s) * C
                for c in 0..<C { d[c] += o[k * C + c] }
            }
        }
    }
}
