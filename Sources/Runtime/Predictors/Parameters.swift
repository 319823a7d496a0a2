/// A model's parameters in one flat array, with a named view of each tensor, so optimizers
/// and saving treat every model alike.
struct ParameterLayout: Sendable, Equatable {
    struct Tensor: Sendable, Equatable {
        public var name: String
        public var offset: Int
        public var rows: Int
        var cols: Int
        /// Weights get Glorot init and weight decay; biases start at zero and are not decayed.
        var isWeight: Bool
        public var count: Int { rows * cols }
    }

    private(set) var tensors: [Tensor] = []
    public private(set) var count = 0

    public init() {}

    /// Appends a tensor; returns its offset.
    public mutating func add(_ name: String, rows: Int, cols: Int, weight: Bool) -> Int {
        let offset = count
        tensors.append(Tensor(name: name, offset: offset, rows: rows, cols: cols, isWeight: weight))
        count += rows * cols
        return offset
    }

    /// Glorot-uniform weights (fan in = rows, fan out = cols), or He-uniform (fan in only)
    /// for deep ReLU stacks, and zero biases.
    func initialise(_ p: UnsafeMutablePointer<Float>, rng: inout RandomStream, he: Bool = false) {
        for t in tensors {
            if t.isWeight {
                let limit = (6.0 / Double(he ? t.rows : t.rows + t.cols)).squareRoot()
                for i in 0..<t.count { p[t.offset + i] = Float((rng.uniform() * 2 - 1) * limit) }
            } else {
                for i in 0..<t.count { p[t.offset + i] = 0 }
            }
        }
    }

    /// 1 for decayed parameters (weights), 0 for biases.
    var decayMask: [Float] {
        var m = [Float](repeating: 0, count: count)
        for t in tensors where t.isWeight { for i in 0..<t.count { m[t.offset + i] = 1 } }
        return m
    }
}
