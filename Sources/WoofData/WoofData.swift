// The data pipeline lands here.
