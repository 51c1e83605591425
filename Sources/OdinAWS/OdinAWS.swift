// The AWS binding of Odin's ports (S3 object store, DynamoDB state store, Batch compute, SNS notifier), on the
// project's own AWS client. Kept apart from Odin so the control logic and the local binding never link AWS code.
