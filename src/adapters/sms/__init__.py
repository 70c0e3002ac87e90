"""Text messages: the sandbox outbox and Aliyun SMS."""
