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

/// One network — a body (Bodies.swift) and the head — with its workspace for batches of up
/// to `capacity`.
final class Network: @unchecked Sendable {
    public let shape: NetworkShape
    let layout: ParameterLayout
    public let capacity: Int
    let body: NetworkBody
    var headW: [Int] = [], headB: [Int] = []
    // The head's workspace: the body's output, each FC layer's, the output, and two
    // gradient buffers that the head's backward alternates between.
    var pooled: FloatBuffer
    var u: [FloatBuffer] = []
    var out: FloatBuffer
    var gradA: FloatBuffer, gradB: FloatBuffer
    var batchSize = 0

    /// `bodyCapacity` (default: `capacity`) sizes the body's workspace alone, for a caller
    /// that computes the body's output itself and runs only the head on batches of `capacity`.
    public init(shape: NetworkShape, capacity: Int, bodyCapacity: Int? = nil) {
        self.shape = shape
        self.capacity = capacity
        let B = capacity
        var layout = ParameterLayout()
        // The body's tensors first, then the head's: the parameter order of every saved
        // predictor file.
        body = shape.makeBody(capacity: bodyCapacity ?? capacity, layout: &layout)
        var din = body.width
        for (k, width) in (shape.fc + [1]).enumerated() {
            headW.append(layout.add(k < shape.fc.count ? "fc\(k).weight" : "out.weight", rows: din, cols: width, weight: true))
            headB.append(layout.add(k < shape.fc.count ? "fc\(k).bias" : "out.bias", rows: 1, cols: width, weight: false))
            din = width
        }
        self.layout = layout
        pooled = FloatBuffer(B * body.width)
        for width in shape.fc { u.append(FloatBuffer(B * width)) }
        out = FloatBuffer(B)
        let widest = B * max(body.width, shape.fc.max() ?? 1)
        gradA = FloatBuffer(widest)
        gradB = FloatBuffer(widest)
    }

    /// Whether GCN inference multiplies only the distinct rows of a layer's input where that
    /// pays (on by default). The bits are the same either way (npsh_gemm rounds a row's
    /// product the same wherever it sits); tests compare both with the training forward.
    var distinctRowProducts: Bool {
        get { (body as? GCNBody)?.distinctRowProducts ?? false }
        set { (body as? GCNBody)?.distinctRowProducts = newValue }
    }

    /// Rows and distinct rows seen by GCN inference products per layer (tests); zeros for
    /// other bodies.
    var dedupRows: [Int] { (body as? GCNBody)?.dedupRows ?? [Int](repeating: 0, count: shape.layers) }
    var dedupUnique: [Int] { (body as? GCNBody)?.dedupUnique ?? [Int](repeating: 0, count: shape.layers) }

    /// The raw output z for each architecture of the batch: (B).
    @discardableResult
    func forward(_ params: UnsafePointer<Float>, _ batch: InputBatch, training: Bool, rng: inout RandomStream) -> UnsafeMutablePointer<Float> {
        let B = batch.size
        precondition(B <= capacity)
        batchSize = B
        body.forward(params, batch, training: training, rng: &rng, pooled: pooled.pointer)
        return head(params, rows: B)
    }

    /// The head over the first B rows of `pooled` (the body's output): the raw output z (B).
    func head(_ params: UnsafePointer<Float>, rows B: Int) -> UnsafeMutablePointer<Float> {
        batchSize = B
        var x = UnsafePointer(pooled.pointer)
        var din = body.width
        for (k, width) in shape.fc.enumerated() {
            dense(x, rows: B, inDim: din, params + headW[k], params + headB[k], outDim: width, u[k].pointer)
            reluInPlace(u[k].pointer, count: B * width)
            x = UnsafePointer(u[k].pointer)
            din = width
        }
        dense(x, rows: B, inDim: din, params + headW[shape.fc.count], params + headB[shape.fc.count], outDim: 1, out.pointer)
        return out.pointer
    }

    /// Backpropagates dL/dz (B) from the last `forward(training:)`, adding into `grads`.
    func backward(_ params: UnsafePointer<Float>, _ grads: UnsafeMutablePointer<Float>, _ batch: InputBatch, dz: UnsafePointer<Float>) {
        let B = batchSize
        // Head, last layer first.
        var dy = gradA.pointer, spare = gradB.pointer
        dy.update(from: dz, count: B)
        var outDim = 1
        for k in stride(from: shape.fc.count, through: 0, by: -1) {
            let inDim = k == 0 ? body.width : shape.fc[k - 1]
            let x = k == 0 ? UnsafePointer(pooled.pointer) : UnsafePointer(u[k - 1].pointer)
            denseBackward(x, rows: B, inDim: inDim, params + headW[k], grads + headW[k], grads + headB[k], outDim: outDim, dy: dy, dx: spare)
            if k > 0 { reluBackward(u[k - 1].pointer, spare, count: B * inDim) }
            swap(&dy, &spare)
            outDim = inDim
        }
        // dy now holds dL/dpooled (B, body width).
        body.backward(params, grads, batch, dPooled: dy)
    }
}

