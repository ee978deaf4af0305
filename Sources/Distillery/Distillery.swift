@_exported import Dataflow
