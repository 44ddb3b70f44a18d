"""What the trace UI serves from: the trace store and the metric data, in one object."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from spin_py.traceui.metrics_view import MetricSnapshots
from spin_py.traceui.store import TraceStore

Mode = Literal["in-process", "workers"]


@dataclass
class UiState:
    """The store, the metric snapshots received over OTLP and, when the UI runs in the serving
    process, that process's own metric reader."""

    store: TraceStore
    mode: Mode
    snapshots: MetricSnapshots = field(default_factory=MetricSnapshots)
    local_reader: InMemoryMetricReader | None = None

    def metric_messages(self) -> list[ExportMetricsServiceRequest]:
        """The latest metric data of every sender, as OTLP messages."""
        messages = self.snapshots.messages()
        if self.local_reader is not None:
            data = self.local_reader.get_metrics_data()
            if data is not None:
                messages.append(encode_metrics(data))
        return messages

    def senders(self) -> int:
        """How many processes' metrics the tables merge."""
        return len(self.snapshots) + (1 if self.local_reader is not None else 0)
