import Foundation

/// The registry of methods: adding one is a compile error until every switch handles it.
public enum MethodKind: String, CaseIterable, Sendable {
  case blurDetection = "blur-detection"
  case mocoV1 = "moco-v1"
  case mocoV2 = "moco-v2"
  case mocoV3 = "moco-v3"
  case simclr
  case instdisc
  case swav
  case abmil
  case transmil
  case panther
  case ins
  case dataEfficiency = "ssl-data-efficiency"

  /// The experiment type that runs this method.
  public var experiment: any Experiment.Type {
    switch self {
    case .blurDetection: return BlurDetectionExperiment.self
    case .mocoV1: return SelfSupervisedExperiment<MoCoV1Variant>.self
    case .mocoV2: return SelfSupervisedExperiment<MoCoV2Variant>.self
    case .mocoV3: return SelfSupervisedExperiment<MoCoV3Variant>.self
    case .simclr: return SelfSupervisedExperiment<SimCLRVariant>.self
    case .instdisc: return SelfSupervisedExperiment<InstDiscVariant>.self
    case .swav: return SelfSupervisedExperiment<SwAVVariant>.self
    case .abmil: return MILExperiment<ABMILVariant>.self
    case .transmil: return MILExperiment<TransMILVariant>.self
    case .panther: return MILExperiment<PantherVariant>.self
    case .ins: return MILExperiment<INSVariant>.self
    case .dataEfficiency: return MILExperiment<DataEfficiencyVariant>.self
    }
  }

  /// Config keys of the method.
  public var configSchema: [ConfigKey] { experiment.schema }

  /// Metrics of the method.
  public var metrics: [MetricInfo] { experiment.metrics }

  /// Names of the method's metrics.
  public var metricNames: Set<String> { Set(metrics.map(\.name)) }
}
