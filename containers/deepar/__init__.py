"""DeepAR forecasting on GluonTS's MXNet DeepAR (gluonts.mx)."""
