import Glibc

/// Elementwise functions as types, so that `Pointwise` loops specialize and vectorize around them (a closure
/// would cost an indirect call per element).
protocol UnaryFunction { func callAsFunction(_ x: Float) -> Float }
protocol BinaryFunction { func callAsFunction(_ a: Float, _ b: Float) -> Float }

enum Fn {
    struct Add: BinaryFunction { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a + b } }
    struct Sub: BinaryFunction { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a - b } }
    struct Mul: BinaryFunction { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a * b } }
    struct Div: BinaryFunction { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a / b } }
    /// The first argument (broadcasting copies).
    struct First: BinaryFunction { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a } }
    /// f(a, s) for a constant s.
    struct WithScalar<F: BinaryFunction>: UnaryFunction {
        let f: F, s: Float
        @inline(__always) func callAsFunction(_ x: Float) -> Float { f(x, s) }
    }

    struct Affine: UnaryFunction {
        let scale: Float, shift: Float
        @inline(__always) func callAsFunction(_ x: Float) -> Float { x * scale + shift }
    }
    struct LeakyRelu: UnaryFunction {
        let slope: Float
        @inline(__always) func callAsFunction(_ x: Float) -> Float { x > 0 ? x : (slope == 0 ? 0 : x * slope) }
    }
    /// g where x > 0, else slope * g.
    struct LeakyReluGrad: BinaryFunction {
        let slope: Float
        @inline(__always) func callAsFunction(_ g: Float, _ x: Float) -> Float {
            x > 0 ? g : (slope == 0 ? 0 : g * slope)
        }
    }
    /// x limited to [low, high].
    struct Clamp: UnaryFunction {
        let low: Float, high: Float
        @inline(__always) func callAsFunction(_ x: Float) -> Float { Swift.min(Swift.max(x, low), high) }
    }
    /// g where low <= x <= high, else 0.
    struct ClampGrad: BinaryFunction {
        let low: Float, high: Float
        @inline(__always) func callAsFunction(_ g: Float, _ x: Float) -> Float { x >= low && x <= high ? g : 0 }
    }
    struct Tanh: UnaryFunction { @inline(__always) func callAsFunction(_ x: Float) -> Float { Glibc.tanhf(x) } }
    /// g * (1 - y^2) with y = tanh(x).
    struct TanhGrad: BinaryFunction {
        @inline(__always) func callAsFunction(_ g: Float, _ y: Float) -> Float { g * (1 - y * y) }
    }
    struct Sigmoid: UnaryFunction {
        @inline(__always) func callAsFunction(_ x: Float) -> Float {
            x >= 0 ? 1 / (1 + Glibc.expf(-x)) : Glibc.expf(x) / (1 + Glibc.expf(x))
        }
    }
    /// g * y * (1 - y) with y = sigmoid(x).
    struct SigmoidGrad: BinaryFunction {
        @inline(__always) func callAsFunction(_ g: Float, _ y: Float) -> Float { g * y * (1 - y) }
    }
    struct Softplus: UnaryFunction {
        @inline(__always) func callAsFunction(_ x: Float) -> Float {
            Swift.max(x, 0) + Glibc.log1pf(Glibc.expf(-Swift.abs(x)))
        }
    }
    /// g * sigmoid(x).
    struct SoftplusGrad: BinaryFunction {
        @inline(__always) func callAsFunction(_ g: Float, _ x: Float) -> Float { g * Sigmoid()(x) }
    }
    struct Exp: UnaryFunction { @inline(__always) func callAsFunction(_ x: Float) -> Float { Glibc.expf(x) } }
    struct Log: UnaryFunction { @inline(__always) func callAsFunction(_ x: Float) -> Float { Glibc.logf(x) } }
    struct Sqrt: UnaryFunction { @inline(__always) func callAsFunction(_ x: Float) -> Float { x.squareRoot() } }
    struct Rsqrt: UnaryFunction { @inline(__always) func callAsFunction(_ x: Float) -> Float { 1 / x.squareRoot() } }
    /// -g * y^3 / 2 with y = rsqrt(x).
    struct RsqrtGrad: BinaryFunction {
        @inline(__always) func callAsFunction(_ g: Float, _ y: Float) -> Float { -0.5 * g * y * y * y }
    }
    struct Square: UnaryFunction { @inline(__always) func callAsFunction(_ x: Float) -> Float { x * x } }
    /// 2 g x.
    struct SquareGrad: BinaryFunction {
        @inline(__always) func callAsFunction(_ g: Float, _ x: Float) -> Float { 2 * g * x }
    }
    struct Abs: UnaryFunction { @inline(__always) func callAsFunction(_ x: Float) -> Float { Swift.abs(x) } }
    struct Sign: UnaryFunction {
        @inline(__always) func callAsFunction(_ x: Float) -> Float { x > 0 ? 1 : (x < 0 ? -1 : 0) }
    }
}
